/* vl_core.c - the replicated state machine of one node (DESIGN.md 4-8).
 *
 * The contract is vl_core.h; operator-facing decisions are in
 * docs/consensus.md.  The code is split by role (vl_core_int.h lists the
 * files); these notes cover all of them.
 *
 * DESIGN NOTES
 *
 *  1. The one rule.  A voter votes at most once per (account, seq), ever,
 *     and the vote is durable before it leaves.  The vote on an order is
 *     the lock record locks[account||seq] = (time, order hash, order),
 *     written in the step's write transaction (vl_vote.c, vl_decide).  The
 *     signature that carries the vote is computed in the same step but
 *     only STAGED; staged outputs are appended to the caller's outbox
 *     after mdb_txn_commit has returned success (vl_core_step).  A step
 *     that fails releases nothing it signed, so no vote exists outside this
 *     node that its disk does not also hold.  The one output that may leave
 *     before the commit carries no new signature of this node (note 24).
 *
 *  2. Invariants (asserted where cheap, checked on every read of stored
 *     data, which fails the step with VL_ERR_CORRUPT rather than guess):
 *     I1 while locks[a,s] holds hash X, X is the only order this node
 *        signs for (a, s); the lock goes only when a certificate for
 *        (a, s) is applied, after which the node answers CERTIFIED forever.
 *     I2 slots[a,s] is written once, by the apply of (a, s); a different
 *        certificate for (a, s) goes to `forks` and never replaces it.
 *     I3 for every account, each seq < next_seq has a slot and
 *        next_seq has none (apply_one refuses to proceed otherwise).
 *     I4 the log is dense 1..head; entry i's prev_hash is the entry hash
 *        of i-1 (the network id for i = 1); meta "head" is (head, its
 *        entry hash).  Keys are big-endian, writes use MDB_APPEND.
 *     I5 bucket b = XOR of the order hashes of the applied certificates
 *        whose account id starts with byte b; the state digest is
 *        tagged_hash(state-digest, the 256 buckets).
 *     I6 `pending` and every applied certificate passed vl_cert_verify,
 *        or were formed here from votes whose batch signatures passed
 *        vl_batch_vote_verify and whose paths lead to the signed root.
 *     I7 outputs of a step leave only after its commit (note 1), except a
 *        certificate formed from votes all durable before the step: its
 *        replies and broadcast may leave just before (note 24).
 *
 *  3. Per-slot state, as one node sees slot (a, s):
 *
 *        unknown account / s > next_seq          cert arrives
 *        (voter: answers BEHIND)   -------------------------------> PENDING
 *              |  the gap is filled (drain, sweep)                     |
 *              v                                                       |
 *          OPEN (s == next_seq) --- vote on X: write lock ---> LOCKED(X)
 *              |                                                 |   asked X again: same vote
 *              |                                                 |   asked Y: CONFLICT(X)
 *              |                                                 |   older than redrive_after:
 *              |                                                 |   re-drive X
 *              +---------------- cert applied ------------------+--> CERTIFIED(H)
 *                               (lock and pending record go)          |  another cert H':
 *                                                                     |  forks + fork flag
 *     The function behind each arrow: vl_decide (vote, CONFLICT, BEHIND),
 *     apply_one/pending_store (PENDING), apply_next (CERTIFIED),
 *     evidence_store (forks), redrive_locks (re-drive).
 *     A voter locked on X and asked again about X answers with the same
 *     decision even if a time rule would now fail (an expired window):
 *     nothing but time can have changed for (a, s) while it is locked, and
 *     re-voting X is not a second vote.  The lock check for X therefore
 *     comes before the rules; the CONFLICT check for Y comes after them.
 *
 *  4. Randomness.  The core has none (the simulator replays exactly).
 *     Batch votes and checkpoints are signed with vl_sign(aux_rand =
 *     NULL): BIP-340's deterministic variant, where the nonce is derived
 *     from the secret key and the message.  That is safe (aux randomness
 *     only hardens against side channels) and keeps every output a pure
 *     function of the inputs.
 *
 *  5. One batch per step.  Every order this node votes on in a step (its
 *     own coordinations, every peer's VOTE_REQUEST, re-drives) is a leaf of
 *     one Merkle tree; its root is signed once, after the inputs and
 *     before the commit (the signature is released only after it).  Each
 *     requesting peer with at least one voted order gets ONE VOTE_REPLY
 *     whose leaves are the whole batch plus the signature (a coordinator
 *     computes the paths it needs); its other orders get answers.  We chose
 *     the whole batch over per-requester sub-batches: one signature per
 *     step, whatever the number of coordinators.  The coordinator's own
 *     votes come from the same batch and signature.  A batch is at most
 *     VL_MAX_BATCH_ORDERS leaves; an order that does not fit is answered
 *     REJECTED VL_ERR_UNAVAILABLE without a lock.
 *
 *  6. Paths.  A coordinator needs the path of each order it tracks in a
 *     reply's batch.  vl_merkle_path costs O(n) hashes per leaf, O(n^2)
 *     for a full batch; vl_batch_paths (vl_vote.c) fills every wanted path
 *     in one O(n log n) pass using vl_merkle_root on sub-ranges, and each
 *     path is checked with vl_merkle_root_from_path against the verified
 *     root before it is kept (an assertion: a mismatch is our bug).
 *
 *  7. One step = one write transaction (group commit).  Before a step,
 *     if more than 3/4 of the map is used, the map doubles.  A step that
 *     still hits MDB_MAP_FULL is aborted, the map doubles, and the whole
 *     step runs again; VL_ERR_MAP_FULL only when the map cannot grow any
 *     more (VL_STORE_MAX_MAP, or the address space), as vl_core.h says:
 *     "retry once" would fail a step that needs more than twice the map,
 *     which a node started with a small map can meet.  On any
 *     failure the in-memory copy of meta (head, buckets, cursors, timers,
 *     counters: vl_core_mem) is restored from the copy taken at the start,
 *     staged outputs are freed, and the coordination table is dropped
 *     (vl_core.h); its waiting clients are remembered (bounded) and told
 *     VL_ERR_UNAVAILABLE ("resubmit the same order") by the next step that
 *     commits.  Durable locks are re-driven (note 12), so dropping the
 *     table loses no order.
 *
 *  8. Applying (vl_state.c, vl_apply_cert).  A certificate arrives from
 *     our own formation, CERTS, a CERTIFIED answer, or a peer's log.
 *     Same order already in the slot: ignored without verifying.  Else
 *     verified (skipped only for our own formations, I6), then: slot
 *     taken by another order -> forks; account unknown or s > next_seq ->
 *     pending + ACCOUNT_REQUEST(a, next_seq) to the sender (to every voter
 *     for our own formations; none for log sync, whose order already
 *     fills every gap); s == next_seq -> apply by kind, log append, slot,
 *     lock and pending records, digest; a certificate that breaks a rule
 *     on apply (overspend, revoked, serial reuse, u64 overflow) means more
 *     than f voters lied: it goes to forks and is not applied.  Then the
 *     pending certificates that became next are applied (the same account
 *     at s+1, vouchers created by an ISSUE at 0), at most VL_DRAIN_MAX per
 *     apply; an overflow of the drain queue is found by the pending sweep
 *     on ticks.  Money is u64 fen and every sum is overflow-checked.
 *
 *  9. Issuer accounts exist from the genesis: until the first ISSUE is
 *     applied, loading one yields next_seq 0 and the genesis budget.  An
 *     issuer's balance = budget + credited - issued (saturating at 0 on a
 *     lagging node, docs/consensus.md); REVOKE credits the voucher's
 *     remaining value to its issuer and sets the voucher's remaining to 0.
 *
 * 10. Coordination (vl_coord.c) is memory only: order bytes, waiting
 *     clients (client tag, req_id, since), votes per voter, refusals, the
 *     first verified CONFLICT evidence, the last REJECTED code.  It lives in
 *     a hash table by order hash (at most VL_COORD_MAX entries), a second
 *     one by vote leaf (note 21), and a list by age.  Settling: at `quorum` distinct votes the certificate is
 *     formed (votes ascending by voter), applied in the same transaction,
 *     broadcast (CERTS) and sent to every waiter; when the voters that
 *     have neither voted nor refused can no longer make up a quorum, the
 *     waiters get ERROR: CONFLICT with the evidence order when one was
 *     seen (the pair of orders signed for one slot is the proof), else the
 *     last REJECTED code.  BEHIND is not a refusal: the voter is sent what
 *     it misses and asked again (at most VL_BEHIND_RETRIES times per
 *     re-request round).
 *
 * 11. Requests are gathered per peer during the step and sent at its end,
 *     one VOTE_REQUEST per peer per step (split only to respect
 *     VL_MAX_MSG_ITEMS and VL_MAX_MSG_BYTES), after any CERTS staged for
 *     that peer in the same step.
 *
 * 12. Ticks.  Waiters older than client_timeout_ms get VL_ERR_TIMEOUT
 *     (the order may still complete; the client resubmits the same order
 *     and gets the certificate), or VL_ERR_UNKNOWN_ACCOUNT when nobody
 *     voted on a seq-0 order whose account neither this node nor, by their
 *     BEHIND-at-0 answers, a quorum of voters knows (docs/consensus.md, "At
 *     the client timeout").  Entries not asked for redrive_after_ms
 *     are asked again (VL_REREQUEST_PER_TICK per tick), after checking
 *     whether the slot got certified meanwhile.  Entries without waiters
 *     are forgotten after client_timeout_ms + redrive_after_ms.  Locks
 *     older than redrive_after_ms that nobody coordinates here are
 *     coordinated as if submitted with no client (VL_REDRIVE_PER_TICK per
 *     tick, scanning from where the last tick stopped): voters locked on
 *     the order answer with the same vote, so an order completes even when
 *     its entry node died.
 *
 * 13. Observers (genesis role, force_observer, or the sticky meta flag)
 *     answer REJECTED VL_ERR_NOT_VOTER to every VOTE_REQUEST and never
 *     write locks, but do coordinate client submissions (check mode: the
 *     same checks without the lock) and replicate.
 *
 * 14. Bounds.  Every loop runs over a bounded set (message items, batch
 *     leaves, the table, a scan limit); every queue has a named limit in
 *     vl_core_int.h; every allocation is sized by a limit or by an input
 *     that the wire decoder already checked against one.
 *
 * 15. Sync (vl_serve.c).  A cursor per peer (next index, hash of the last
 *     entry passed) is kept in `peers`.  Every sync_interval_ms each other
 *     node is sent SUMMARY_REQUEST(cursor, sync_batch); its SUMMARY_REPLY
 *     lists {index, time, entry hash, account, seq, order hash} per entry
 *     (the tail from an in-memory ring, older entries computed).  Summaries
 *     are read in order: one below the cursor is a duplicate reply; one at
 *     the cursor whose order this node holds in slot (account, seq) moves
 *     the cursor (its entry hash becomes the chain's) and nothing else
 *     moves; a gap is bad input and stops the reading.  At the first one
 *     not held (no slot, or another order: a fork to record) the node
 *     waits: whole entries are asked for (LOG_REQUEST from the cursor)
 *     only when that entry is still lacking a sync interval later, since
 *     under load it is mostly a certificate whose broadcast is on its way.
 *     A LOG_REPLY is read in order: entries below the cursor are skipped;
 *     an entry at the cursor must chain (prev_hash == cursor hash) and
 *     carry a valid certificate, else the reply counts as bad input and
 *     reading stops.  After a reply that moved the cursor while the peer
 *     has more, the next request goes at once: LOG_REQUEST while the last
 *     entry was news and the peer is at least a batch ahead (catching up),
 *     SUMMARY_REQUEST otherwise.  What the node does not check: the chain
 *     of entries it passes by summary (it holds their certificates; a
 *     peer's log is the auditor's to check against its checkpoints).
 *     docs/consensus.md "Log sync" has the costs that led here.
 *
 * 16. Serving lists (LOG_REPLY, GET_LOG, CERTS for ACCOUNT_REQUEST and
 *     BEHIND, GET_ACCOUNT) gathers at most VL_MAX_MSG_ITEMS items within
 *     VL_LIST_BUDGET bytes, borrowed from the map and encoded before any
 *     write.  ACCOUNT_REQUEST from seq 0 for a voucher starts with its
 *     origin ISSUE certificate; GET_ACCOUNT lists the account's own slots.
 *     What a peer gets in answer to its page requests (LOG_REPLY,
 *     SUMMARY_REPLY, CERTS) is also held to its reply budget
 *     (vl_core_set_reply_budget: the room left in the node's send queue to
 *     it, node/vl_net.c "Peer send queues"): a page is gathered within
 *     what remains, and a request is skipped (counted, not answered: the
 *     peer asks again) when less than VL_CORE_REPLY_MIN remains.  Without
 *     it, a burst of a thousand 52-byte requests read in one step was
 *     answered in full, whatever the queue held, before a byte was sent.
 *
 * 17. Checkpoints: every checkpoint_every_ms (first at the first tick), a
 *     signed {network, node, head, head hash, state digest, now} is stored
 *     in meta and served by GET_CHECKPOINT.
 *
 * 18. STATUS flags: VOTER; IN_QUORUM when this node heard from at least
 *     quorum voters (itself included) within 3 sync intervals, not counting
 *     those known to run as observers (note 25); FORK when
 *     `forks` is not empty; SYNCING when more than max_faulty peers heard
 *     recently each reported, 3 sync intervals ago or more, a log head that
 *     our cursor into its log has not reached since, or any head before the
 *     first the cursor reached since open, or from whom it pulls whole
 *     entries, each only while the peer's log is longer than this node's;
 *     or that has not answered a sync request since open (a moment behind
 *     under load is not syncing; one liar cannot set it); READ_ONLY while
 *     the node refuses
 *     writes for lack of space (note 20).
 *
 * 20. Resource faults (docs/operations.md 9).  A step that fails with
 *     VL_ERR_DISK_FULL (ENOSPC from the commit's page writes) or
 *     VL_ERR_MAP_FULL (the map cannot grow) is rolled back like any failed
 *     step, and the node enters REFUSING: the same inputs then go through
 *     a read-only pass (step_refused: a read transaction, nothing staged
 *     that depends on a write): reads are answered, SUBMIT gets ERROR with
 *     the cause, waiting clients of the dropped coordinations get
 *     UNAVAILABLE ("resubmit"), VOTE_REQUESTs are refused with the cause (no
 *     lock, so no vote: the coordinator asks the others; note 26), CERTS
 *     and LOG_REPLYs are dropped
 *     (the sync cursor did not move, so sync fetches them again).  While
 *     REFUSING, a write step is tried at most every VL_REFUSED_RETRY_MS
 *     (on the inputs of that moment); the steps between are read-only
 *     passes only.  Such a write step also writes meta "space_probe" (the
 *     time): a step that writes nothing commits without I/O and would
 *     prove nothing about space, and an idle node would stay REFUSING.
 *     REFUSING ends when a write step commits a transaction that wrote
 *     (LMDB's last txn id moved) and, for a full disk, the filesystem has
 *     VL_STORE_RESUME_SPACE_BYTES free: a small commit can fit in LMDB's
 *     free pages on a disk that is still full, and resuming then would
 *     flap.  LMDB reports a page write cut short by ENOSPC as EIO
 *     (mdb_page_flush: "TODO: Use which error code?"), so a commit that
 *     fails with VL_ERR_IO while the filesystem has less than
 *     VL_STORE_LOW_SPACE_BYTES free is taken for VL_ERR_DISK_FULL (free
 *     space as cfg.free_bytes measures it: voucherd's statvfs; without it,
 *     as in the simulator, never low, so a step never depends on the
 *     host's disk); any
 *     other VL_ERR_IO stops the node (voucherd.c note 3).  STATUS carries
 *     READ_ONLY while REFUSING.  A step whose transaction cannot begin
 *     because LMDB marked the environment fatal (MDB_PANIC, vl_store.c
 *     note 2b) reopens the environment, reloads meta, and runs again.
 *
 * 19. Planted bugs for the simulator, each off unless its macro is
 *     defined at compile time: VL_PLANT_DOUBLE_VOTE (vl_decide votes for a
 *     second order instead of CONFLICT), VL_PLANT_UNPERSISTED_LOCK (the
 *     lock write is skipped), VL_PLANT_WEAK_QUORUM (certificates are formed
 *     at quorum-1 and verified against a core-local copy of the genesis
 *     whose quorum is one less; wire/ is untouched),
 *     VL_PLANT_NO_REMAINING_CHECK (the voter skips amount <= remaining and
 *     the apply saturates remaining at 0 instead of refusing).
 *
 * 21. Whom a coordinator asks, and who checks client signatures
 *     (docs/consensus.md; docs/design-changes.md 4; docs/performance.md,
 *     change 11).  A vote's leaf covers the order's signature bytes
 *     (vl_vote_leaf), and a voter puts a leaf in its batch only after
 *     checking those bytes (vl_decide), so a certificate's q >= f + 1
 *     votes vouch for its order's signatures and an applying node checks
 *     only the votes (vl_cert_verify_vouched).  So a voter that is not
 *     asked to vote never checks the order's signatures, and the
 *     coordinator of a new order whose own vote is coming asks only q - 1
 *     other voters (request_quorum): picked in turn from the order hash,
 *     passing over a voter that is slow (a vote request to it unanswered
 *     for redrive_after_ms / 4: crashed, cut off or overloaded; or, for 4
 *     such intervals doubled for each time in a row up to 64, one that let
 *     an order asked of it pass that long without its answer, whatever it
 *     answered since), which is still probed with one order per that
 *     interval so that it is picked again once it answers (a validly
 *     signed vote, or an answer about an order asked of it; a vote for an
 *     order still waiting for it ends a row of strikes).  Among the voters
 *     not slow, the far ones are passed over too: a voter whose vote
 *     latency (a moving average of the time from the latest request a
 *     vote of it answers to that vote) is more than half (and VL_NEAR_SLACK_MS) above
 *     the q - 1-th fastest's; one order in VL_FAR_PROBE_EVERY ignores
 *     latency, so a far voter's is measured again.  A walk with WAN
 *     delays had one voter 60 ms away and the others 30: the rotation
 *     sent two orders in three to it (p50 37 -> 65 ms for one client,
 *     -20% throughput at 64).  On one machine every voter is near and the
 *     rotation is as before.  A byzantine walk
 *     had a voter that never voted send a validly signed vote for a random
 *     leaf every 100 ms: each cleared its wait, coordinators kept picking
 *     it, and every order that did waited the interval (throughput 1,365
 *     -> 95/s).  Whenever the voters asked can no longer make up
 *     a quorum (one refused, answered CONFLICT, or is BEHIND beyond our
 *     help), the rest are asked at once (ask_rest); an order without a
 *     quorum slow_after_ms after it was asked has the rest asked at the
 *     next tick, so a silent or junk-answering voter costs it at most that;
 *     a re-request (redrive_after_ms without a certificate) and a lock's
 *     re-drive ask every voter, as does a coordinator whose own vote is not
 *     coming (an observer, or BEHIND).  Safety does not
 *     depend on whom we ask: votes are the same votes.  The entry is found
 *     by its vote leaf for votes (a second chain, ltable) and by its order
 *     hash for everything else.
 * 22. A slot beside its account (schema 2; docs/performance.md, change 13;
 *     docs/design-changes.md 5).  A slot's record (log index and order
 *     hash of its certificate) is stored in `accounts` under account id ||
 *     seq (40 bytes), which LMDB sorts right after the account's own
 *     32-byte record: applying a redemption rewrites the account and adds
 *     its slot in one leaf page where two databases took two leaves (and
 *     two paths of branch pages).  The number of accounts is then the
 *     database's entries less the log's (each applied certificate writes
 *     one log entry and one slot, in one transaction).  A schema 1 store
 *     (slots in their own database) is upgraded at the open, in committed
 *     chunks that a crash leaves resumable (vl_state.c, schema_upgrade).
 * 24. A certificate leaves before the commit of the step that formed it
 *     (docs/performance.md, change 15; docs/design-changes.md 6).  A
 *     redemption's reply waited for three durable steps in a row: the
 *     coordinator's own vote, the other voters' votes, and the step that
 *     forms the certificate, applies it and replies.  The third protects
 *     nothing the reply carries: a certificate is q votes, each of which
 *     its voter made durable before sending it (note 1); the log entry the
 *     apply writes is this node's own copy.  If that commit fails or the
 *     node dies before it, the client's certificate is still final, the
 *     peers have it from the broadcast, and this node's lock on the slot
 *     is re-driven (note 12) or the certificate comes back by sync.  So
 *     the step's client replies with a certificate it formed, and its
 *     CERTS broadcast of them, are staged apart (c->early) and handed to
 *     cfg.send_early just before the commit; without the hook (the
 *     simulator, the tests that do not ask) they join the step's other
 *     outputs after it.  The exception: a certificate that carries a vote
 *     of this node cast in this very step, whose lock is not durable yet.
 *     This node's own votes are added only by own_votes, at the end of
 *     the step (vl_batch_finish), so a certificate formed there (a lone
 *     voter's always; a coordinator's whose own vote came last) waits for
 *     the commit like everything else (c->own_voting).  Nothing else the
 *     step staged leaves early: answers to voters and vote requests sign
 *     or depend on this step's writes.  Counted in c->certs_early, outside
 *     c->mem (they left even when the commit then fails): vl_core_stats
 *     certs_early, voucher_certificates_sent_before_commit_total.
 * 25. A genesis voter that runs as an observer (restored from a backup, the
 *     sticky meta flag; or force_observer) answers every vote request
 *     REJECTED NOT_VOTER (note 13).  That says nothing about the order, so
 *     it never becomes the client's error code: refuse() keeps it apart
 *     (e->observing), and when quorum becomes impossible the client gets
 *     VL_ERR_QUORUM with a text that counts the voters running as
 *     observers (before, the last such refusal reached the client as
 *     NOT_VOTER, an undocumented code that read as a final refusal).  The
 *     coordinator also remembers such peers (c->mem.observing: set by a
 *     NOT_VOTER answer, cleared by any other answer or a vote, as only an
 *     observer says NOT_VOTER) and vl_voters_heard leaves them out, so
 *     STATUS's IN_QUORUM and /healthz stop claiming a quorum that cannot
 *     vote.  It learns it only when it asks them for a vote.  It does not
 *     forget it with time: a demoted voter stays demoted (the flag is
 *     sticky; only a new genesis, which restarts every node, brings it
 *     back), so forgetting would only make an idle node claim a quorum it
 *     lacks.  Only genesis voters count (a coordinator that is a genesis
 *     observer refuses itself NOT_VOTER too).  A node that runs as an
 *     observer although the genesis lists it as a voter says so itself
 *     (voucher_genesis_voter 1 with voucher_voter 0, node/vl_metrics.c);
 *     voucher_voters_heard and voucher_voters_observing show the counts.
 *
 * 26. A voter that refuses writes (note 20: disk full, map full) cannot
 *     vote: a vote is a lock committed first.  It used to drop VOTE_REQUESTs
 *     in its read-only pass, so coordinators heard it (its sync traffic),
 *     counted it toward IN_QUORUM and /healthz said "healthy" while no
 *     certificate could form, and a client waited for TIMEOUT (an
 *     operator's walk: one voter restored as an observer, one on a full
 *     disk, four nodes "healthy").  Now the read-only pass answers every
 *     order of a VOTE_REQUEST REJECTED with the space error, without a
 *     decision or a write (vl_on_vote_request_refused; replies staged by
 *     vl_batch_finish, which signs nothing when nothing was voted).  Like
 *     NOT_VOTER (note 25) that is about the voter, not the order: the
 *     coordinator keeps it out of reject_code (e->read_only), remembers the
 *     peer (c->mem.read_only: set by such an answer, cleared by any other
 *     answer or a vote), vl_voters_heard leaves it out and a REFUSING node
 *     does not count itself; when quorum becomes impossible the client gets
 *     QUORUM with "no quorum: K of the N voters refuse writes ...".
 *     A voter that holds a lock on the slot answers DISK_FULL all the
 *     same (not its vote again, nor CONFLICT): kept simple, since the
 *     coordinator learns of that lock once the voter writes again, and a
 *     refusal is never a vote.
 * 27. A voter that runs another genesis (an operator's walk: one node
 *     started with a genesis that differed by one budget figure; same key,
 *     so its peers admit it) answers every vote request REJECTED
 *     WRONG_NETWORK, since an order names the network id it is for.  The
 *     coordinator used to pass that code to the client, whose docs call it
 *     final ("sign the new order"), while honest voters already held votes
 *     for the order: a second order for the slot would follow.  The
 *     coordinator checked the order's network itself before it asked
 *     anyone, so a peer's WRONG_NETWORK is about the peer, like NOT_VOTER
 *     (note 25) and DISK_FULL (note 26): refuse() keeps it out of
 *     reject_code (e->foreign), the coordinator remembers the peer
 *     (c->mem.foreign: set by such an answer, cleared by any other answer
 *     or a vote that verified), vl_voters_heard leaves it out, and when
 *     quorum becomes impossible the client gets QUORUM with "K of the N
 *     voters run another genesis".
 *     The odd node learns it too: a peer whose VOTE_REQUEST carried an
 *     order of another network is remembered (c->mem.asked_foreign, by
 *     the peer's last request), and voucherd logs both sides
 *     (event=peer_network_differs, event=network_differs) and /healthz of
 *     the odd node says its genesis differs from its peers'.
 * 28. A peer proven faulty (vl_vote.c, vl_on_vote_request).  A coordinator
 *     checks an order's signatures before it asks for votes (vl_coord_submit;
 *     a re-driven lock holds an order its voter checked), so a VOTE_REQUEST
 *     with an order whose signature does not verify (BAD_SIG) comes from a
 *     faulty peer, never an honest one.  A byzantine walk sent 20 such
 *     requests a second of 1,024 badly signed orders: 20,000 signature
 *     checks a second for nothing, throughput 1,181 -> 254/s, and no log
 *     line, metric or bad input said who.  Now the rest of such a request
 *     is not read, and the peer's vote requests are dropped unread (and
 *     left out of the verification pool's work, vl_vpool_skip_peers) for
 *     VL_PEER_PENALTY_MS after each proof; each proof, each dropped
 *     request and each undecodable order counts in the peer's bad inputs
 *     (vl_core_peer_faults), which voucherd logs (event=peer_faulty) and
 *     exports by peer.  Only vote requests are dropped: certificates and
 *     sync messages carry their own proofs, and a faulty coordinator's
 *     clients can submit elsewhere.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vl_core_int.h"

/* ---- configuration ------------------------------------------------------------ */

void vl_core_config_defaults(vl_core_config *cfg)
{
    assert(cfg != NULL);
    memset(cfg, 0, sizeof *cfg);
    cfg->durable = true;
    cfg->prefill = true;
    cfg->map_size_bytes = 64u << 20;   /* grows by doubling */
    cfg->clock_skew_ms = 120000;       /* 2 minutes */
    cfg->redrive_after_ms = 5000;      /* a lock with no certificate after 5 s */
    cfg->sync_interval_ms = 1000;      /* pull peers' logs every second */
    cfg->sync_batch = 1024;            /* entries per LOG_REQUEST or SUMMARY_REQUEST */
    cfg->checkpoint_every_ms = 60000;  /* a signed checkpoint a minute */
    cfg->client_timeout_ms = 10000;    /* a waiting client hears back within 10 s */
}

/* err = msg followed by arg. */
static vl_err say(char *err, size_t cap, vl_err code, const char *msg, const char *arg)
{
    if (err != NULL && cap > 0)
        snprintf(err, cap, "%s%s", msg, arg);
    return code;
}

static vl_err check_config(const vl_core_config *cfg, char *err, size_t cap)
{
    const vl_genesis *g = cfg->genesis;
    if (cfg->node >= g->node_count)
        return say(err, cap, VL_ERR_USAGE, "node index is not in the genesis", "");
    if (memcmp(cfg->key->pubkey, g->nodes[cfg->node].pubkey, 32) != 0)
        return say(err, cap, VL_ERR_BAD_KEY,
                   "the signing key does not match the genesis key of node ",
                   g->nodes[cfg->node].id);
    if (cfg->sync_batch == 0 || cfg->sync_batch > VL_MAX_MSG_ITEMS)
        return say(err, cap, VL_ERR_USAGE, "sync_batch must be 1..1024", "");
    return VL_OK;
}

/* ---- small shared helpers --------------------------------------------------------- */

void vl_bad_input(vl_core *c)
{
    c->mem.bad_inputs++;
}

vl_err vl_buf_reserve(vl_core *c, size_t n)
{
    if (n <= c->buf_cap)
        return VL_OK;
    size_t cap = c->buf_cap != 0 ? c->buf_cap : 4096u;
    while (cap < n)
        cap *= 2u;
    uint8_t *p = realloc(c->buf, cap);
    if (p == NULL)
        return VL_ERR_NOMEM;
    c->buf = p;
    c->buf_cap = cap;
    return VL_OK;
}

static int issuer_cmp(const void *a, const void *b)
{
    return memcmp(((const vl_issuer_id *)a)->id, ((const vl_issuer_id *)b)->id, 32);
}

int vl_issuer_by_account(const vl_core *c, const uint8_t id[32])
{
    vl_issuer_id key;
    memcpy(key.id, id, 32);
    const vl_issuer_id *hit =
        bsearch(&key, c->issuers, c->g->issuer_count, sizeof key, issuer_cmp);
    return hit != NULL ? (int)hit->index : -1;
}

/* ---- outputs ------------------------------------------------------------------------ */

void vl_outbox_init(vl_outbox *ob)
{
    assert(ob != NULL);
    memset(ob, 0, sizeof *ob);
}

void vl_outbox_clear(vl_outbox *ob)
{
    assert(ob != NULL);
    for (size_t i = 0; i < ob->count; i++)
        free(ob->items[i].data);
    ob->count = 0;
}

void vl_outbox_free(vl_outbox *ob)
{
    if (ob == NULL)
        return;
    vl_outbox_clear(ob);
    free(ob->items);
    memset(ob, 0, sizeof *ob);
}

static vl_err outbox_reserve(vl_outbox *ob, size_t extra)
{
    if (ob->cap - ob->count >= extra)
        return VL_OK;
    size_t cap = ob->cap != 0 ? ob->cap : 64u;
    while (cap - ob->count < extra)
        cap *= 2u;
    vl_output *p = realloc(ob->items, cap * sizeof *p);
    if (p == NULL)
        return VL_ERR_NOMEM;
    ob->items = p;
    ob->cap = cap;
    return VL_OK;
}

vl_err vl_stage_msg(vl_core *c, uint8_t kind, uint16_t peer, uint64_t client, vl_msg *m)
{
    size_t len;
    vl_err e = vl_msg_encode(m, NULL, 0, &len);
    if (e != VL_OK) /* only stored data we relay can be refused here */
        return e == VL_ERR_NOMEM ? e : VL_ERR_CORRUPT;
    vl_outbox *ob = c->stage_early ? &c->early : &c->stage;
    VL_TRY(outbox_reserve(ob, 1));
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return VL_ERR_NOMEM;
    e = vl_msg_encode(m, buf, len, &len);
    if (e != VL_OK) {
        free(buf);
        return e == VL_ERR_NOMEM ? e : VL_ERR_CORRUPT;
    }
    ob->items[ob->count++] = (vl_output){kind, peer, client, buf, len};
    return VL_OK;
}

vl_err vl_stage_items(vl_core *c, uint8_t kind, uint16_t peer, uint64_t client, vl_msg *m,
                      const vl_bytes *items, uint32_t n)
{
    uint32_t i = 0;
    /* Each round takes at least one item. */
    while (i < n) {
        size_t bytes = 0;
        uint32_t k = 0;
        while (i + k < n && k < VL_MAX_MSG_ITEMS &&
               (k == 0 || bytes + items[i + k].len + VL_ITEM_OVERHEAD <= VL_LIST_BUDGET))
            bytes += items[i + k++].len + VL_ITEM_OVERHEAD;
        m->items = (vl_bytes *)(items + i);
        m->item_count = k;
        VL_TRY(vl_stage_msg(c, kind, peer, client, m));
        i += k;
    }
    return VL_OK;
}

vl_err vl_stage_error(vl_core *c, uint64_t client, uint64_t req_id, vl_err code,
                      const char *text, uint8_t evidence_kind, vl_bytes evidence)
{
    vl_msg r;
    vl_bytes one[1] = {evidence};
    if (text == NULL)
        text = vl_strerror(code);
    size_t len = strlen(text);
    vl_msg_init(&r, NULL);
    r.type = VL_MSG_CLIENT_REPLY;
    r.req_id = req_id;
    r.reply_kind = VL_REPLY_ERROR;
    r.code = (uint16_t)code;
    r.text = (vl_bytes){(const uint8_t *)text,
                        (uint32_t)(len < VL_MAX_ERROR_MSG_LEN ? len : VL_MAX_ERROR_MSG_LEN)};
    r.evidence_kind = evidence_kind;
    if (evidence_kind != VL_EVIDENCE_NONE) {
        r.items = one;
        r.item_count = 1;
    }
    return vl_stage_msg(c, VL_OUT_CLIENT, 0, client, &r);
}

vl_err vl_stage_cert_reply(vl_core *c, uint64_t client, uint64_t req_id, vl_bytes cert)
{
    vl_msg r;
    vl_bytes one[1] = {cert};
    vl_msg_init(&r, NULL);
    r.type = VL_MSG_CLIENT_REPLY;
    r.req_id = req_id;
    r.reply_kind = VL_REPLY_CERT;
    r.items = one;
    r.item_count = 1;
    return vl_stage_msg(c, VL_OUT_CLIENT, 0, client, &r);
}

/* ---- open and close ----------------------------------------------------------------- */

static vl_err core_issuers(vl_core *c)
{
    uint32_t n = c->g->issuer_count;
    c->issuers = calloc(n > 0 ? n : 1u, sizeof *c->issuers);
    if (c->issuers == NULL)
        return VL_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        vl_issuer_account_id(c->issuers[i].id, c->g->issuers[i].pubkey);
        c->issuers[i].index = i;
    }
    qsort(c->issuers, n, sizeof *c->issuers, issuer_cmp);
    return VL_OK;
}

static void core_roles(vl_core *c)
{
    const vl_genesis *g = c->g;
    for (uint32_t i = 0; i < g->node_count; i++)
        if (g->nodes[i].role == VL_ROLE_VOTER)
            c->voter_mask |= VL_BIT(i);
    c->voter = g->nodes[c->self].role == VL_ROLE_VOTER && !c->cfg.force_observer;
    c->quorum = g->quorum;
    c->vg = g;
#ifdef VL_PLANT_WEAK_QUORUM
    if (c->weak_g != NULL && g->quorum > 1) {
        memcpy(c->weak_g, g, sizeof *g);
        c->weak_g->quorum = g->quorum - 1u; /* planted: q-1 votes suffice */
        c->vg = c->weak_g;
        c->quorum = c->weak_g->quorum;
    }
#endif
}

static vl_err core_alloc(vl_core *c, const vl_core_config *cfg)
{
    c->cfg = *cfg;
    c->dir = strdup(cfg->dir);
    c->g = cfg->genesis;
    c->key = *cfg->key;
    c->cfg.key = &c->key;
    c->cfg.dir = c->dir;
    c->self = cfg->node;
#ifdef VL_PLANT_WEAK_QUORUM
    c->weak_g = malloc(sizeof *c->weak_g);
    if (c->weak_g == NULL)
        return VL_ERR_NOMEM;
#endif
    core_roles(c);
    c->mst = malloc(sizeof *c->mst);
    c->vord = malloc(sizeof *c->vord);
    c->cord = malloc(sizeof *c->cord);
    c->acert = malloc(sizeof *c->acert);
    c->acert2 = malloc(sizeof *c->acert2);
    c->fcert = calloc(1, sizeof *c->fcert);
    c->items = calloc(VL_MAX_MSG_ITEMS + 1u, sizeof *c->items);
    c->sums = malloc((size_t)VL_MAX_MSG_ITEMS * VL_SUMMARY_BYTES);
    c->ring = calloc(VL_SUMMARY_RING, sizeof *c->ring);
    for (uint32_t p = 0; p < VL_MAX_NODES; p++)
        c->reply_budget[p] = UINT64_MAX; /* note 16: until the caller says */
    c->paths = malloc(VL_MAX_BATCH_ORDERS * sizeof *c->paths);
    c->want = calloc(VL_MAX_BATCH_ORDERS, 1);
    c->batch = malloc(VL_MAX_BATCH_ORDERS * sizeof *c->batch);
    c->batch_index = calloc(2u * VL_MAX_BATCH_ORDERS, sizeof *c->batch_index);
    c->drain = malloc(VL_DRAIN_QUEUE * sizeof *c->drain);
    c->orphans = malloc(VL_ORPHANS_MAX * sizeof *c->orphans);
    if (c->dir == NULL || c->mst == NULL || c->vord == NULL || c->cord == NULL ||
        c->acert == NULL || c->acert2 == NULL || c->fcert == NULL || c->items == NULL ||
        c->sums == NULL || c->ring == NULL ||
        c->paths == NULL || c->want == NULL || c->batch == NULL || c->batch_index == NULL ||
        c->drain == NULL || c->orphans == NULL)
        return VL_ERR_NOMEM;
    vl_msg_init(&c->msg, c->mst);
    VL_TRY(core_issuers(c));
    VL_TRY(vl_coord_init(c));
    c->cache = vl_sigcache_new(VL_SIGCACHE_CAP);
    return c->cache != NULL ? VL_OK : VL_ERR_NOMEM;
}

vl_err vl_core_open(vl_core **out, const vl_core_config *cfg, char *err, size_t err_cap)
{
    assert(out != NULL && cfg != NULL && cfg->dir != NULL && cfg->genesis != NULL &&
           cfg->key != NULL);
    *out = NULL;
    if (err != NULL && err_cap > 0)
        err[0] = '\0';
    vl_err e = check_config(cfg, err, err_cap);
    if (e != VL_OK)
        return e;
    vl_core *c = calloc(1, sizeof *c);
    if (c == NULL)
        return say(err, err_cap, VL_ERR_NOMEM, "out of memory", "");
    c->st.lock_fd = -1;
    c->st.data_fd = -1;
    e = core_alloc(c, cfg);
    if (e == VL_OK)
        e = vl_store_open(&c->st, c->dir, cfg->durable, cfg->prefill, cfg->check_data,
                          cfg->map_size_bytes, err, err_cap);
    if (e == VL_OK)
        e = vl_meta_open(c, err, err_cap);
    if (e != VL_OK) {
        if (err != NULL && err_cap > 0 && err[0] == '\0')
            snprintf(err, err_cap, "cannot open node data in %s: %s", cfg->dir,
                     vl_strerror(e));
        vl_core_close(&c);
        return e;
    }
    *out = c;
    return VL_OK;
}

void vl_core_close(vl_core **pc)
{
    if (pc == NULL || *pc == NULL)
        return;
    vl_core *c = *pc;
    assert(c->txn == NULL);
    if (c->table != NULL)
        vl_coord_free_all(c);
    vl_store_close(&c->st);
    vl_sigcache_destroy(&c->cache);
    vl_outbox_free(&c->stage);
    vl_outbox_free(&c->early);
    for (uint32_t p = 0; p < VL_MAX_NODES; p++) {
        free(c->peers[p].answers);
        free(c->peers[p].requests);
    }
    free(c->formed);
    free(c->table);
    free(c->ltable);
    free(c->issuers);
    free(c->orphans);
    free(c->drain);
    free(c->batch_index);
    free(c->batch);
    free(c->want);
    free(c->paths);
    free(c->ring);
    free(c->sums);
    free(c->items);
    free(c->fcert);
    free(c->acert2);
    free(c->acert);
    free(c->cord);
    free(c->vord);
    free(c->mst);
    free(c->weak_g);
    free(c->buf);
    free(c->dir);
    vl_keypair_wipe(&c->key);
    free(c);
    *pc = NULL;
}

/* ---- one step ---------------------------------------------------------------------- */

static void step_begin(vl_core *c, uint64_t now_ms)
{
    c->now_ms = now_ms;
    c->step_no++;
    c->saved = c->mem;
    memcpy(c->reply_budget_saved, c->reply_budget, sizeof c->reply_budget); /* note 16 */
    c->batch_count = 0;
    memset(c->batch_index, 0, 2u * VL_MAX_BATCH_ORDERS * sizeof *c->batch_index);
    c->formed_count = 0;
    c->formed_early = 0;
    c->acct_req_count = 0;
    c->drain_head = 0;
    c->drain_count = 0;
}

/* Free what the step staged for itself (after success or failure). */
static void step_end(vl_core *c)
{
    for (uint32_t p = 0; p < c->g->node_count; p++) {
        vl_peer_step *ps = &c->peers[p];
        for (uint32_t i = 0; i < ps->answer_count; i++)
            free((void *)ps->answers[i].evidence.ptr);
        ps->answer_count = 0;
        ps->request_count = 0;
        ps->active = false;
        ps->voted = false;
    }
    for (uint32_t i = 0; i < c->formed_count; i++)
        free((void *)c->formed[i].ptr);
    c->formed_count = 0;
    c->formed_early = 0;
}

/* Decode a peer's message into c->msg and note that the peer was heard;
 * false (counted as bad input, nothing else changed) when it is not a
 * well-formed message from that peer. */
static bool peer_accept(vl_core *c, const vl_input *in)
{
    uint16_t p = in->peer;
    if (p >= c->g->node_count || p == c->self || in->data == NULL ||
        vl_msg_decode(in->data, in->len, &c->msg) != VL_OK || c->msg.from != p) {
        vl_bad_input(c);
        return false;
    }
    c->last_heard[p] = vl_sat_add(c->now_ms, 1u); /* 0 means never */
    if (c->first_heard_ms[p] == 0)
        c->first_heard_ms[p] = c->last_heard[p]; /* note 18 */
    return true;
}

static vl_err process_peer(vl_core *c, const vl_input *in)
{
    vl_msg *m = &c->msg;
    uint16_t p = in->peer;
    if (!peer_accept(c, in))
        return VL_OK;
    switch (m->type) {
    case VL_MSG_VOTE_REQUEST:
        return vl_on_vote_request(c, p, m);
    case VL_MSG_VOTE_REPLY:
        return vl_coord_on_vote_reply(c, p, m);
    case VL_MSG_CERTS:
        for (uint32_t i = 0; i < m->item_count; i++)
            VL_TRY(vl_apply_cert(c, m->items[i].ptr, m->items[i].len, 0, p, NULL));
        return VL_OK;
    case VL_MSG_LOG_REQUEST:
        return vl_on_log_request(c, p, m);
    case VL_MSG_LOG_REPLY:
        return vl_on_log_reply(c, p, m);
    case VL_MSG_SUMMARY_REQUEST:
        return vl_on_summary_request(c, p, m);
    case VL_MSG_SUMMARY_REPLY:
        return vl_on_summary_reply(c, p, m);
    case VL_MSG_ACCOUNT_REQUEST:
        return vl_on_account_request(c, p, m);
    default: /* a client message on the peer link */
        vl_bad_input(c);
        return VL_OK;
    }
}

static vl_err process_client(vl_core *c, const vl_input *in)
{
    char text[VL_MAX_ERROR_MSG_LEN];
    vl_msg *m = &c->msg;
    vl_err e = in->data != NULL ? vl_msg_decode(in->data, in->len, m) : VL_ERR_TRUNCATED;
    if (e != VL_OK) {
        uint64_t req_id = 0; /* its own when its header is whole */
        vl_bad_input(c);
        snprintf(text, sizeof text, "malformed request: %s", vl_strerror(e));
        if (!vl_msg_peek_req_id(in->data, in->len, &req_id))
            req_id = 0;
        return vl_stage_error(c, in->client, req_id, e, text, VL_EVIDENCE_NONE,
                              (vl_bytes){NULL, 0});
    }
    if (m->type != VL_MSG_CLIENT_REQUEST) {
        vl_bad_input(c);
        return vl_stage_error(c, in->client, m->req_id, VL_ERR_TYPE,
                              "not a client request", VL_EVIDENCE_NONE, (vl_bytes){NULL, 0});
    }
    return vl_client_request(c, in->client, m);
}

static vl_err process_tick(vl_core *c)
{
    VL_TRY(vl_coord_tick(c));
    VL_TRY(vl_pending_sweep(c));
    VL_TRY(vl_sync_tick(c));
    return vl_checkpoint_tick(c);
}

static vl_err process_input(vl_core *c, const vl_input *in)
{
    switch (in->kind) {
    case VL_IN_PEER:
        return process_peer(c, in);
    case VL_IN_CLIENT:
        return process_client(c, in);
    case VL_IN_TICK:
        return process_tick(c);
    default:
        assert(0 && "vl_core_step: bad input kind");
        return VL_ERR_USAGE;
    }
}

/* Note 24: hand the outputs that may leave before the commit to the
 * caller's hook, or, without one, add them to the step's others. */
static vl_err early_release(vl_core *c)
{
    if (c->early.count == 0)
        return VL_OK;
    if (c->cfg.send_early != NULL) {
        c->cfg.send_early(c->cfg.before_commit_ctx, c->early.items, c->early.count);
        c->certs_early += c->formed_early;
        vl_outbox_clear(&c->early);
        return VL_OK;
    }
    VL_TRY(outbox_reserve(&c->stage, c->early.count));
    memcpy(c->stage.items + c->stage.count, c->early.items, c->early.count * sizeof *c->early.items);
    c->stage.count += c->early.count;
    c->early.count = 0;
    return VL_OK;
}

/* Outputs move to `out` only here, after the commit (note 1; note 24 for
 * the certificates that may leave before it). */
static void stage_release(vl_core *c, vl_outbox *out)
{
    if (c->stage.count == 0)
        return;
    assert(out->cap - out->count >= c->stage.count);
    memcpy(out->items + out->count, c->stage.items, c->stage.count * sizeof *out->items);
    out->count += c->stage.count;
    c->stage.count = 0;
}

static vl_err step_once(vl_core *c, uint64_t now_ms, const vl_input *in, size_t n,
                        vl_outbox *out)
{
    step_begin(c, now_ms);
    vl_err err = vl_store_begin(&c->st, false, &c->txn);
    if (err == VL_OK)
        err = vl_stage_orphans(c, in, n);
    for (size_t i = 0; err == VL_OK && i < n; i++)
        err = process_input(c, &in[i]);
    if (err == VL_OK)
        err = vl_batch_finish(c);
    if (err == VL_OK)
        err = vl_coord_finish(c);
    if (err == VL_OK)
        err = vl_meta_flush(c);
    if (err == VL_OK && c->refusing != VL_OK) { /* note 20: the write attempt writes */
        uint8_t probe[8];
        vl_be64_put(probe, now_ms);
        err = vl_db_put(c->txn, c->st.meta, "space_probe", 11, probe, sizeof probe, 0, NULL);
    }
    if (err == VL_OK)
        err = early_release(c);
    if (err == VL_OK)
        err = outbox_reserve(out, c->stage.count);
    if (err == VL_OK && c->cfg.before_commit != NULL)
        c->cfg.before_commit(c->cfg.before_commit_ctx);
    if (err == VL_OK) {
        err = vl_store_xlate(mdb_txn_commit(c->txn)); /* frees the txn either way */
        c->txn = NULL;
    }
    if (c->txn != NULL)
        mdb_txn_abort(c->txn);
    c->txn = NULL;
    if (err == VL_OK) {
        stage_release(c, out);
        c->orphan_count = 0;
    }
    step_end(c);
    return err;
}

static void step_rollback(vl_core *c)
{
    c->mem = c->saved;
    memcpy(c->reply_budget, c->reply_budget_saved, sizeof c->reply_budget);
    vl_outbox_clear(&c->stage);
    vl_outbox_clear(&c->early);
    vl_coord_drop(c);
}

/* ---- refusing writes (note 20) -------------------------------------------------------- */

/* Note 20: free space as the caller measures it (UINT64_MAX: unknown). */
static uint64_t free_bytes(const vl_core *c)
{
    return c->cfg.free_bytes != NULL ? c->cfg.free_bytes(c->dir) : UINT64_MAX;
}

uint64_t vl_core_fs_free_bytes(const char *dir)
{
    return vl_store_free_bytes(dir);
}

static bool is_space_error(vl_err e)
{
    return e == VL_ERR_DISK_FULL || e == VL_ERR_MAP_FULL;
}

static vl_err refused_client(vl_core *c, const vl_input *in)
{
    vl_msg *m = &c->msg;
    if (in->data == NULL || vl_msg_decode(in->data, in->len, m) != VL_OK ||
        m->type != VL_MSG_CLIENT_REQUEST)
        return process_client(c, in); /* the same error replies, no write */
    if (m->req_kind != VL_REQ_SUBMIT)
        return vl_client_request(c, in->client, m);
    return vl_stage_error(c, in->client, m->req_id, c->refusing,
                          c->refusing == VL_ERR_DISK_FULL
                              ? "node is not accepting writes: disk full; submit to another node"
                              : "node is not accepting writes: the LMDB map cannot grow; "
                                "submit to another node",
                          VL_EVIDENCE_NONE, (vl_bytes){NULL, 0});
}

static vl_err refused_peer(vl_core *c, const vl_input *in)
{
    vl_msg *m = &c->msg;
    uint16_t p = in->peer;
    if (!peer_accept(c, in))
        return VL_OK;
    if (m->type == VL_MSG_LOG_REQUEST)
        return vl_on_log_request(c, p, m);
    if (m->type == VL_MSG_SUMMARY_REQUEST)
        return vl_on_summary_request(c, p, m);
    if (m->type == VL_MSG_ACCOUNT_REQUEST)
        return vl_on_account_request(c, p, m);
    if (m->type == VL_MSG_VOTE_REQUEST) /* refused, not dropped: note 26 */
        return vl_on_vote_request_refused(c, p, m, c->refusing);
    return VL_OK; /* votes, certificates, log and summary replies: note 20 */
}

static vl_err reopen_after_panic(vl_core *c);

/* The read-only pass: answers staged from a read transaction and released
 * at once (none depends on a write).  On an error nothing is released. */
static void step_refused(vl_core *c, uint64_t now_ms, const vl_input *in, size_t n,
                         vl_outbox *out)
{
    step_begin(c, now_ms);
    vl_err err = vl_store_begin(&c->st, true, &c->txn);
    if (err != VL_OK && c->st.panicked && reopen_after_panic(c) == VL_OK)
        err = vl_store_begin(&c->st, true, &c->txn); /* the failed commit's meta write */
    if (err == VL_OK)
        err = vl_stage_orphans(c, in, n);
    for (size_t i = 0; err == VL_OK && i < n; i++) {
        if (in[i].kind == VL_IN_CLIENT)
            err = refused_client(c, &in[i]);
        else if (in[i].kind == VL_IN_PEER)
            err = refused_peer(c, &in[i]);
    }
    if (err == VL_OK) /* no vote in this pass: only the refusals (note 26) */
        err = vl_batch_finish(c);
    if (err == VL_OK)
        err = outbox_reserve(out, c->stage.count);
    if (c->txn != NULL)
        mdb_txn_abort(c->txn);
    c->txn = NULL;
    if (err == VL_OK) {
        stage_release(c, out);
        c->orphan_count = 0;
    } else {
        vl_outbox_clear(&c->stage);
    }
    step_end(c);
    c->steps_refused++;
}

/* Note 20: LMDB marked the environment fatal; reopen it and reload meta. */
static vl_err reopen_after_panic(vl_core *c)
{
    vl_err e = vl_store_reopen(&c->st, c->dir, NULL, 0);
    if (e == VL_OK)
        e = vl_meta_open(c, NULL, 0);
    if (e != VL_OK)
        return VL_ERR_IO; /* the node stops; a restart opens what is durable */
    c->st.panicked = false;
    c->reopens++;
    return VL_OK;
}

static uint64_t last_txnid(vl_core *c)
{
    MDB_envinfo info;
    return mdb_env_info(c->st.env, &info) == 0 ? (uint64_t)info.me_last_txnid : 0u;
}

/* The write step with its retries: on a grown map (note 7), and once on a
 * reopened environment after MDB_PANIC (note 20). */
static vl_err step_write(vl_core *c, uint64_t now_ms, const vl_input *in, size_t n,
                         vl_outbox *out)
{
    /* Cannot grow: carry on, the step may still fit. */
    (void)vl_store_maybe_grow(&c->st);
    vl_err err = VL_OK;
    bool reopened = false;
    /* Note 7: a step that hits MDB_MAP_FULL runs again on a doubled map,
     * until it fits or the map cannot grow (VL_STORE_MAX_MAP bounds it). */
    for (uint32_t attempt = 0; attempt < VL_STEP_ATTEMPTS; attempt++) {
        err = step_once(c, now_ms, in, n, out);
        if (err == VL_OK)
            break;
        step_rollback(c);
        if (c->st.panicked && !reopened) {
            reopened = true;
            err = reopen_after_panic(c);
            if (err != VL_OK)
                break;
            continue;
        }
        if (err != VL_ERR_MAP_FULL || vl_store_grow(&c->st) != VL_OK)
            break;
    }
    return err;
}

vl_err vl_core_step(vl_core *c, uint64_t now_ms, const vl_input *in, size_t n, vl_outbox *out)
{
    assert(c != NULL && out != NULL && (in != NULL || n == 0));
    assert(c->txn == NULL && "vl_core_step: re-entered");
    if (c->st.env == NULL) /* a reopen failed (note 20) */
        return VL_ERR_IO;
    if (c->st.panicked && reopen_after_panic(c) != VL_OK)
        return VL_ERR_IO;
    if (c->refusing != VL_OK && now_ms < c->refuse_retry_ms &&
        c->refuse_retry_ms - now_ms <= VL_REFUSED_RETRY_MS) {
        step_refused(c, now_ms, in, n, out);
        c->last_err = c->refusing;
        return c->refusing;
    }
    uint64_t txnid = last_txnid(c);
    vl_err err = step_write(c, now_ms, in, n, out);
    if (err == VL_ERR_IO && free_bytes(c) < VL_STORE_LOW_SPACE_BYTES)
        err = VL_ERR_DISK_FULL; /* a page write cut short by ENOSPC (note 20) */
    if (is_space_error(err)) {
        c->refusing = err;
        c->refuse_retry_ms = vl_sat_add(now_ms, VL_REFUSED_RETRY_MS);
        step_refused(c, now_ms, in, n, out);
    } else if (err == VL_OK && c->refusing != VL_OK) {
        if (last_txnid(c) != txnid &&
            (c->refusing != VL_ERR_DISK_FULL ||
             free_bytes(c) >= VL_STORE_RESUME_SPACE_BYTES))
            c->refusing = VL_OK; /* a write committed and there is room: space is back */
        else
            c->refuse_retry_ms = vl_sat_add(now_ms, VL_REFUSED_RETRY_MS);
    }
    c->last_err = err;
    return err;
}

/* ---- queries ---------------------------------------------------------------------- */

vl_err vl_core_get_account(vl_core *c, const uint8_t id[32], vl_account *a, uint8_t *buf,
                           size_t cap)
{
    assert(c != NULL && id != NULL && a != NULL && (buf != NULL || cap == 0));
    MDB_txn *t;
    vl_account tmp;
    uint8_t prog[VL_MAX_LABEL_LEN];
    bool known = false;
    size_t len;
    memset(a, 0, sizeof *a);
    VL_TRY(vl_store_begin(&c->st, true, &t));
    vl_err e = vl_acct_load(c, t, id, &tmp, prog, &known);
    if (e == VL_OK && !known)
        e = VL_ERR_UNKNOWN_ACCOUNT;
    if (e == VL_OK)
        e = vl_account_encode(&tmp, buf, cap, &len);
    if (e == VL_OK)
        e = vl_account_decode(buf, len, a);
    mdb_txn_abort(t);
    return e;
}

static vl_err copy_out(vl_bytes b, uint8_t *buf, size_t cap, size_t *len)
{
    *len = b.len;
    if (b.len > cap)
        return VL_ERR_TOO_BIG;
    memcpy(buf, b.ptr, b.len);
    return VL_OK;
}

vl_err vl_core_get_slot_cert(vl_core *c, const uint8_t account[32], uint64_t seq, uint8_t *buf,
                             size_t cap, size_t *len)
{
    assert(c != NULL && account != NULL && (buf != NULL || cap == 0) && len != NULL);
    MDB_txn *t;
    bool found;
    vl_bytes cert;
    *len = 0;
    VL_TRY(vl_store_begin(&c->st, true, &t));
    vl_err e = vl_slot_cert(c, t, account, seq, &found, &cert);
    if (e == VL_OK)
        e = found ? copy_out(cert, buf, cap, len) : VL_ERR_UNKNOWN_ACCOUNT;
    mdb_txn_abort(t);
    return e;
}

vl_err vl_core_get_lock(vl_core *c, const uint8_t account[32], uint64_t seq,
                        uint8_t order_hash[32])
{
    assert(c != NULL && account != NULL && order_hash != NULL);
    MDB_txn *t;
    MDB_val v;
    bool found;
    uint8_t key[40];
    memset(order_hash, 0, 32);
    vl_slot_key(key, account, seq);
    VL_TRY(vl_store_begin(&c->st, true, &t));
    vl_err e = vl_db_get(t, c->st.locks, key, sizeof key, &v, &found);
    if (e == VL_OK && !found)
        e = VL_ERR_UNKNOWN_ACCOUNT;
    else if (e == VL_OK && v.mv_size < 40)
        e = VL_ERR_CORRUPT;
    else if (e == VL_OK)
        memcpy(order_hash, (const uint8_t *)v.mv_data + 8, 32);
    mdb_txn_abort(t);
    return e;
}

vl_err vl_core_get_entry(vl_core *c, uint64_t index, uint8_t *buf, size_t cap, size_t *len)
{
    assert(c != NULL && (buf != NULL || cap == 0) && len != NULL);
    MDB_txn *t;
    MDB_val v;
    bool found;
    uint8_t key[8];
    *len = 0;
    vl_be64_put(key, index);
    VL_TRY(vl_store_begin(&c->st, true, &t));
    vl_err e = vl_db_get(t, c->st.log, key, sizeof key, &v, &found);
    if (e == VL_OK)
        e = found ? copy_out((vl_bytes){v.mv_data, (uint32_t)v.mv_size}, buf, cap, len)
                  : VL_ERR_UNKNOWN_ACCOUNT;
    mdb_txn_abort(t);
    return e;
}

void vl_core_get_stats(vl_core *c, vl_core_stats *st)
{
    assert(c != NULL && st != NULL && c->txn == NULL);
    MDB_txn *t;
    memset(st, 0, sizeof *st);
    if (c->st.env == NULL) /* a reopen failed (note 20) */
        return;
    if (vl_store_begin(&c->st, true, &t) == VL_OK) {
        (void)vl_status_fill(c, t, &st->status);
        (void)vl_db_count(t, c->st.pending, &st->pending_certs);
        (void)vl_db_count(t, c->st.forks, &st->forks);
        mdb_txn_abort(t);
    }
    st->bad_inputs = c->mem.bad_inputs;
    st->votes_sent = c->mem.votes_sent;
    st->sync_skipped = c->mem.sync_skipped;
    st->sync_pulled = c->mem.sync_pulled;
    st->votes_widened = c->mem.votes_widened;
    st->certs_applied = c->mem.certs_applied;
    st->certs_formed = c->mem.certs_formed;
    st->certs_early = c->certs_early;
    st->voters_heard = vl_voters_heard(c);
    st->voters_observing = vl_voters_observing(c);
    st->voters_foreign = c->mem.foreign & c->voter_mask;
    st->peers_asking_foreign = c->mem.asked_foreign;
    vl_store_usage(&c->st, &st->map_used_bytes, &st->map_size_bytes);
}

uint64_t vl_core_peer_faults(const vl_core *c, uint16_t peer, bool *penalized)
{
    assert(c != NULL && penalized != NULL);
    *penalized = peer < c->g->node_count && vl_peer_penalized(c, peer);
    return peer < c->g->node_count ? c->mem.peer_bad[peer] : 0;
}

void vl_core_set_reply_budget(vl_core *c, uint16_t peer, uint64_t bytes)
{
    if (peer < VL_MAX_NODES)
        c->reply_budget[peer] = bytes;
}

bool vl_core_peer_vote_ms(const vl_core *c, uint16_t peer, uint32_t *ms)
{
    *ms = 0;
    if (peer >= VL_MAX_NODES || !c->vote_ms_known[peer])
        return false;
    *ms = (c->vote_ms_x8[peer] + 7u) / 8u;
    return true;
}

uint64_t vl_core_replies_skipped(const vl_core *c, uint16_t peer)
{
    return peer < VL_MAX_NODES ? c->replies_skipped[peer] : 0;
}

uint64_t vl_core_penalized_peers(const vl_core *c)
{
    uint64_t m = 0;
    for (uint16_t p = 0; p < c->g->node_count; p++)
        if (vl_peer_penalized(c, p))
            m |= VL_BIT(p);
    return m;
}

void vl_core_get_foreign(const vl_core *c, uint64_t *voters_foreign,
                         uint64_t *peers_asking_foreign)
{
    assert(c != NULL);
    *voters_foreign = c->mem.foreign & c->voter_mask;
    *peers_asking_foreign = c->mem.asked_foreign;
}

bool vl_core_peer_clock(const vl_core *c, uint16_t peer, int64_t *offset_ms,
                        uint64_t *measured_at_ms)
{
    assert(c != NULL && offset_ms != NULL && measured_at_ms != NULL);
    *offset_ms = 0;
    *measured_at_ms = 0;
    if (peer >= c->g->node_count || peer == c->self || c->peer_clock_at_ms[peer] == 0)
        return false;
    *offset_ms = c->peer_clock_ms[peer];
    *measured_at_ms = c->peer_clock_at_ms[peer];
    return true;
}

void vl_core_get_storage(vl_core *c, vl_core_storage *st)
{
    assert(c != NULL && st != NULL && c->txn == NULL);
    memset(st, 0, sizeof *st);
    st->refusing = c->refusing;
    st->steps_refused = c->steps_refused;
    st->reopens = c->reopens;
    if (c->st.env == NULL)
        return;
    vl_store_usage(&c->st, &st->map_used_bytes, &st->map_size_bytes);
    st->map_grows = c->st.grows;
    st->prefilled_bytes = c->st.prefilled;
    st->upgraded_slots = c->upgraded_slots;
    st->stale_readers_cleared = c->st.stale_readers;
    st->checked = c->cfg.check_data && !c->st.check.absent;
    st->checked_records = c->st.check.records;
    st->checked_bytes = c->st.check.bytes;
    st->check_ms = c->st.check.ms;
}

vl_err vl_core_check_readers(vl_core *c, uint32_t *cleared)
{
    assert(c != NULL && cleared != NULL && c->txn == NULL);
    *cleared = 0;
    if (c->st.env == NULL) /* a reopen failed (note 20): the next step stops the node */
        return VL_ERR_IO;
    return vl_store_reader_check(&c->st, cleared);
}

vl_sigcache *vl_core_sigcache(vl_core *c)
{
    assert(c != NULL && c->cache != NULL);
    return c->cache;
}

void vl_core_get_digests(vl_core *c, uint8_t buckets[256][32], uint8_t state_digest[32])
{
    assert(c != NULL && buckets != NULL && state_digest != NULL);
    vl_digest_refresh(c);
    memcpy(buckets, c->mem.buckets, sizeof c->mem.buckets);
    memcpy(state_digest, c->mem.digest, 32);
}
