#ifndef RDBKIT_CRC64_FOLD_H
#define RDBKIT_CRC64_FOLD_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has carry-less multiplication (x86-64 PCLMULQDQ); the fold below needs it.
int rdbkit_crc64_fold_available(void);

/// Folds the first `length & ~15` bytes of `bytes` (`length` >= 16) for CRC-64/Jones (reflected,
/// polynomial 0xAD93D23594C935A9) continuing `crc`, with carry-less multiplication, and writes 16 bytes
/// to `state`: the CRC of those 16 bytes from 0 (table-driven) is the CRC of the folded bytes from `crc`.
/// Returns how many bytes were folded. Call only when rdbkit_crc64_fold_available() is true.
size_t rdbkit_crc64_fold(uint64_t crc, const uint8_t *bytes, size_t length, uint8_t state[16]);

#endif
