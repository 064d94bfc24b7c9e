#ifndef RDBKIT_LZF_DECODE_H
#define RDBKIT_LZF_DECODE_H

#include <stddef.h>
#include <stdint.h>

/// Decompresses the LZF stream `input[0..<input_length]` into `output`, which holds `output_length` bytes.
/// Returns the number of bytes produced, or 0 when the stream is corrupt or does not fit: the verdicts of
/// liblzf's lzf_decompress (built with its input checks), which compresses what Redis writes. It is faster
/// because literal runs and back-references far enough behind are copied 16 bytes at a time while the
/// output has room for the overshoot; near the output's end it copies exactly.
size_t rdbkit_lzf_decompress(const uint8_t *input, size_t input_length, uint8_t *output, size_t output_length);

/// Whether `input[0..<input_length]` decompresses to exactly `length` bytes, without producing them:
/// the same bounds as above are checked for every item (a literal run or a back-reference past the
/// output's end, a back-reference before its start, input ending inside an item). Returns 1 or 0.
int rdbkit_lzf_validate(const uint8_t *input, size_t input_length, size_t length);

#endif
