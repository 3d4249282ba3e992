#include "vl_test.h"
#include "vl_error.h"
int main(void) { VL_TEST_END(); }
