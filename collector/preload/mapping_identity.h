/* mapping_identity.h - what memory an address lives in, from
 * /proc/self/maps: the identity of a process-shared object that every
 * process sharing it can compute.
 *
 * Two processes that share a mutex may map it at different addresses (two
 * programs mapping one file), but both see the same file (device, inode)
 * and the same offset in it. Memory shared by fork (mmap MAP_SHARED |
 * MAP_ANONYMOUS) is a file too ("/dev/zero (deleted)", one inode per
 * mapping), at the same address in parent and children. Private memory
 * (inode 0: heap, stack, private anonymous maps) cannot be shared between
 * processes, so there the identity is (pid, address).
 *
 * Reading /proc/self/maps costs tens of microseconds: it is done once per
 * object and process, when an object is first met (at creation, or at its
 * first use by a process that did not create it), never on a fast path.
 */
#ifndef SYNCTOP_PRELOAD_MAPPING_IDENTITY_H
#define SYNCTOP_PRELOAD_MAPPING_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

typedef struct mapping_identity {
    uint64_t key;            /* 56-bit identity key (never 0) */
    bool synctop;            /* inside a synctop segment (/dev/shm/synctop-...): ours, not watched */
    bool file_backed;        /* a named file (not fork-shared anonymous memory) */
    char where[48];          /* for names: "0x7f3a12c04040", or "app-state+0x40" */
} mapping_identity;

/* Identify the memory at address. Never fails: an address found in no
 * mapping gets the private identity (pid, address). */
void mapping_identify(const void *address, mapping_identity *out);

#endif
