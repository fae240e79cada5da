/* Compiled at build time by build.yaml: the toolchain works. */
#include <stdio.h>

int main(void) {
  puts("the image's compiler works");
  return 0;
}
