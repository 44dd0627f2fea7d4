/* A minimal FlexBuffers reader (format: https://google.github.io/flatbuffers/flexbuffers.html):
 * the root map, its sorted key vector and scalar values. Every read is bounds-checked. */
#include "flexbuffer.h"

#include <string.h>

enum {
  FB_NULL = 0,
  FB_INT = 1,
  FB_UINT = 2,
  FB_FLOAT = 3,
  FB_INDIRECT_INT = 6,
  FB_INDIRECT_UINT = 7,
  FB_INDIRECT_FLOAT = 8,
  FB_MAP = 9,
  FB_BOOL = 26,
};

typedef struct {
  const uint8_t* data;
  size_t length;
} Buffer;

static int in_bounds(const Buffer* b, const uint8_t* p, size_t width) {
  return p >= b->data && (size_t)(p - b->data) + width <= b->length;
}

static int read_uint(const Buffer* b, const uint8_t* p, size_t width, uint64_t* out) {
  if (!in_bounds(b, p, width)) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= (uint64_t)p[i] << (8 * i); /* little endian */
  *out = v;
  return 1;
}

static int read_int(const Buffer* b, const uint8_t* p, size_t width, int64_t* out) {
  uint64_t u;
  if (!read_uint(b, p, width, &u)) return 0;
  if (width < 8 && (u >> (8 * width - 1)) & 1) u |= ~0ULL << (8 * width); /* sign-extend */
  *out = (int64_t)u;
  return 1;
}

static int read_float(const Buffer* b, const uint8_t* p, size_t width, double* out) {
  if (!in_bounds(b, p, width)) return 0;
  if (width == 4) {
    float f;
    memcpy(&f, p, 4);
    *out = f;
    return 1;
  }
  if (width == 8) {
    memcpy(out, p, 8);
    return 1;
  }
  return 0;
}

/* Follows an offset stored at p (width bytes) backwards. */
static const uint8_t* indirect(const Buffer* b, const uint8_t* p, size_t width) {
  uint64_t off;
  if (!read_uint(b, p, width, &off) || off > (uint64_t)(p - b->data)) return NULL;
  return p - off;
}

static int scalar(const Buffer* b, const uint8_t* p, size_t parent_width, uint8_t packed,
                  int32_t* value) {
  const int type = packed >> 2;
  const size_t own_width = (size_t)1 << (packed & 3);
  int64_t i;
  uint64_t u;
  double f;
  switch (type) {
    case FB_INT:
      if (!read_int(b, p, parent_width, &i)) return 0;
      break;
    case FB_UINT:
    case FB_BOOL:
      if (!read_uint(b, p, parent_width, &u)) return 0;
      i = (int64_t)u;
      break;
    case FB_FLOAT:
      if (!read_float(b, p, parent_width, &f)) return 0;
      i = (int64_t)f;
      break;
    case FB_INDIRECT_INT:
    case FB_INDIRECT_UINT:
    case FB_INDIRECT_FLOAT: {
      const uint8_t* target = indirect(b, p, parent_width);
      if (!target) return 0;
      if (type == FB_INDIRECT_INT) {
        if (!read_int(b, target, own_width, &i)) return 0;
      } else if (type == FB_INDIRECT_UINT) {
        if (!read_uint(b, target, own_width, &u)) return 0;
        i = (int64_t)u;
      } else {
        if (!read_float(b, target, own_width, &f)) return 0;
        i = (int64_t)f;
      }
      break;
    }
    default:
      return 0;
  }
  if (i < INT32_MIN || i > INT32_MAX) return 0;
  *value = (int32_t)i;
  return 1;
}

int bn_flex_map_int(const uint8_t* data, size_t length, const char* key, int32_t* value) {
  const Buffer b = {data, length};
  if (data == NULL || length < 3) return 0;
  const size_t root_width = data[length - 1];
  const uint8_t root_packed = data[length - 2];
  if ((root_packed >> 2) != FB_MAP || root_width == 0 || root_width > 8 ||
      length < 2 + root_width)
    return 0;
  const uint8_t* map = indirect(&b, data + length - 2 - root_width, root_width);
  const size_t width = (size_t)1 << (root_packed & 3); /* element width of the map */
  if (!map || map - data < (ptrdiff_t)(3 * width)) return 0;
  uint64_t size, keys_width;
  if (!read_uint(&b, map - width, width, &size) ||
      !read_uint(&b, map - 2 * width, width, &keys_width))
    return 0;
  const uint8_t* keys = indirect(&b, map - 3 * width, width);
  if (!keys || keys_width == 0 || keys_width > 8 || size > length) return 0;
  for (uint64_t k = 0; k < size; ++k) {
    const uint8_t* name = indirect(&b, keys + k * keys_width, (size_t)keys_width);
    if (!name) return 0;
    const size_t room = length - (size_t)(name - data);
    const size_t key_len = strlen(key);
    if (room > key_len && memcmp(name, key, key_len) == 0 && name[key_len] == '\0') {
      const uint8_t* types = map + size * width;
      if (!in_bounds(&b, types + k, 1)) return 0;
      return scalar(&b, map + k * width, width, types[k], value);
    }
  }
  return 0;
}
