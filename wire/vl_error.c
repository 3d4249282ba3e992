#include "vl_error.h"

#include <pthread.h>
#include <stddef.h>

struct vl_err_row {
    int num;
    const char *name;
    const char *text;
};

#define VL_ERROR_ROW(name, num, text) {num, #name, text},
static const struct vl_err_row rows[] = {VL_ERROR_LIST(VL_ERROR_ROW)};
#undef VL_ERROR_ROW

static const struct vl_err_row *find(int err)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        if (rows[i].num == err)
            return &rows[i];
    return NULL;
}

int vl_err_known(int err)
{
    return find(err) != NULL;
}

const char *vl_strerror(int err)
{
    const struct vl_err_row *r = find(err);
    return r ? r->text : "unknown error";
}

const char *vl_err_name(int err)
{
    const struct vl_err_row *r = find(err);
    return r ? r->name : "VL_ERR_UNKNOWN";
}

/* Lower-case slugs, built once from the names (pthread_once: the table is
 * read from several threads). */
#define VL_SLUG_MAX 32
static char slugs[sizeof rows / sizeof rows[0]][VL_SLUG_MAX];
static pthread_once_t slugs_once = PTHREAD_ONCE_INIT;

static void build_slugs(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *s = rows[i].name + 3; /* past "VL_" */
        if (s[0] == 'E' && s[1] == 'R' && s[2] == 'R' && s[3] == '_')
            s += 4;
        size_t j = 0;
        for (; s[j] != '\0' && j + 1 < VL_SLUG_MAX; j++) {
            char c = s[j];
            slugs[i][j] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        slugs[i][j] = '\0';
    }
}

const char *vl_err_slug(int err)
{
    const struct vl_err_row *r = find(err);
    if (r == NULL)
        return "unknown";
    pthread_once(&slugs_once, build_slugs);
    return slugs[r - rows];
}
