/* The glib-2.0-0.dll stand-in of the Wine smoke test (see standin.c): kept
 * apart because GLib's headers make some of these macros or inline. */
#include <stdlib.h>
#include <string.h>

void g_free(void *mem) { free(mem); }
void *g_malloc(size_t n) { return n ? malloc(n) : NULL; }
char *g_strdup(const char *s) { return s ? strdup(s) : NULL; }
int g_strcmp0(const char *a, const char *b)
{
    if (!a)
        return -(a != b);
    if (!b)
        return a != b;
    return strcmp(a, b);
}
void **g_ptr_array_free(void *array, int free_segment)
{
    (void)array;
    (void)free_segment;
    return NULL;
}
