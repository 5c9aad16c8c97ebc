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
void *g_malloc0(size_t n) { return n ? calloc(1, n) : NULL; }
char *g_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}
/* The arrays are made by the libwiretap.dll stand-in (struct standin_array
 * of standin.h: data, len, elt_size). */
struct standin_array {
    char *data;
    unsigned len;
    unsigned elt_size;
};
void *g_array_append_vals(void *array, const void *data, unsigned len)
{
    struct standin_array *a = array;
    a->data = realloc(a->data, (size_t)(a->len + len) * a->elt_size);
    memcpy(a->data + (size_t)a->len * a->elt_size, data, (size_t)len * a->elt_size);
    a->len += len;
    return a;
}
