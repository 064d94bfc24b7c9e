#ifndef RDBKIT_MEMORY_HINTS_H
#define RDBKIT_MEMORY_HINTS_H

/// Asks the CPU to start loading the cache line at `address` (for reading); never faults, even on a bad address.
static inline __attribute__((always_inline)) void rdbkit_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// The same, for a line about to be written (a reference count about to change).
static inline __attribute__((always_inline)) void rdbkit_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

/// Reads the machine word at `address` as an integer, with no reference counting (the bits of a reference).
static inline __attribute__((always_inline)) unsigned long rdbkit_load_word(const void *address) {
    return *(const unsigned long *)address;
}

#endif
