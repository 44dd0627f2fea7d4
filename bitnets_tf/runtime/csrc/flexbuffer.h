/* Reading integer fields from a FlexBuffers map: the custom options of the LCE operators. */
#ifndef BITNETS_FLEXBUFFER_H_
#define BITNETS_FLEXBUFFER_H_

#include <stddef.h>
#include <stdint.h>

/* Sets *value to the integer (int, uint, bool or float, direct or indirect) stored under `key`
 * in the map at the root of `buffer`. Returns 1 on success, 0 if the buffer is not a map or the
 * key is absent or not a number. */
int bn_flex_map_int(const uint8_t* buffer, size_t length, const char* key, int32_t* value);

#endif /* BITNETS_FLEXBUFFER_H_ */
