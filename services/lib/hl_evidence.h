/*  hl_evidence — a node's evidence files (photos, recordings), stored
 *  content-addressed under <data_dir>/evidence/ and written durably before
 *  any command names them.
 *
 *  A file is named by the SHA-256 of its bytes: evidence/ab/cdef... (the
 *  first two hex digits are a folder, so no folder grows past 1/256 of the
 *  files). A command names it "sha256:<64 hex>" (Report.evidence, or the
 *  "evidence" argument of the procedure's attach action). The same bytes
 *  sent twice are one file.
 *
 *  Writing one file: hl_evidence_file_new, then _write as the bytes arrive
 *  (the size limit is enforced as they arrive, nothing past it is kept),
 *  _type once it is all in (the magic bytes: only the types below are
 *  accepted), then _commit: fsync the file, rename it to its content
 *  address, fsync the folder. Only after _commit returns 0 may a command
 *  name the file. A file destroyed before _commit leaves nothing behind
 *  (its temporary file, in evidence/tmp/, is unlinked).
 *
 *  Accepted types (by content, never by name): image/jpeg, image/png,
 *  image/webp, video/mp4, audio/mp4 (M4A), audio/aac (ADTS), audio/mpeg
 *  (MP3), audio/ogg. An ISO media file by its brands (hl_evidence_sniff):
 *  a HEIC photo or a QuickTime movie has an ftyp box too, and is refused.
 *
 *  A copy of a file for beyond the ward (hl_evidence_outgoing: a JPEG
 *  without its metadata), and a file that arrives in pieces over the
 *  federation (hl_evidence_piece_*: written at their offsets, checked
 *  against the SHA-256 before the file is visible), are stored the same
 *  way.
 *
 *  Rules for callers:
 *  - One hl_evidence_t may be used by one thread at a time; several
 *    objects (threads, processes) may share one folder: names are unique
 *    temporary files and renames are atomic.
 *  - A file committed but named by no command (its command failed after
 *    the commit) stays: content-addressed, it is harmless, and deleting it
 *    could lose a file an acknowledged command names (a reply lost after
 *    the commit).
 */
#ifndef HL_EVIDENCE_H_INCLUDED
#define HL_EVIDENCE_H_INCLUDED

typedef struct _hl_evidence_t hl_evidence_t;
typedef struct _hl_evidence_file_t hl_evidence_file_t;

//  "sha256:" + 64 hex + NUL
#define HL_EVIDENCE_REF_SIZE    72

//  Open (create) the folder and its tmp/. NULL on error (logged).
hl_evidence_t *hl_evidence_new (const char *dir);
void hl_evidence_destroy (hl_evidence_t **self_p);
const char *hl_evidence_dir (hl_evidence_t *self);

//  Start a file of at most max_bytes. NULL on error (logged).
hl_evidence_file_t *hl_evidence_file_new (hl_evidence_t *self, size_t max_bytes);
//  Unlinks the temporary file unless committed
void hl_evidence_file_destroy (hl_evidence_file_t **self_p);
//  Append bytes: 0; 1 when the file would pass max_bytes (nothing more is
//  kept, and every later write is 1 too); -1 on an I/O error (logged)
int hl_evidence_file_write (hl_evidence_file_t *self, const void *data, size_t size);
//  Bytes so far
size_t hl_evidence_file_size (hl_evidence_file_t *self);
//  The MIME type its first bytes show, or NULL (empty, or not a type we
//  accept)
const char *hl_evidence_file_type (hl_evidence_file_t *self);
//  For a refusal's message: what a file we do not accept is, when its
//  first bytes say ("HEIC/HEIF", "AVIF", "MOV QuickTime", "3GP", "ISO
//  'brnd'", "GIF"), written into name (size bytes, 32 is plenty); NULL
//  when they do not
const char *hl_evidence_file_kind (hl_evidence_file_t *self, char *name, size_t size);
//  Make it durable under its content address; ref gets "sha256:<hex>"
//  (HL_EVIDENCE_REF_SIZE bytes). 0, or -1 (logged; nothing kept).
int hl_evidence_file_commit (hl_evidence_file_t *self, char *ref);

//  Is ref "sha256:" and 64 lower-case hex digits
bool hl_evidence_ref_valid (const char *ref);
//  A stored file: 0 and its path (size bytes), type and byte count; 1 when
//  there is no such file (or ref is not a valid ref); -1 on an error
int hl_evidence_find (hl_evidence_t *self, const char *ref, char *path, size_t size,
                      const char **type, size_t *bytes);
//  The accepted type the first bytes of a file show, or NULL. An ISO
//  media file (an ftyp box) is video/mp4 or audio/mp4 only by its brands:
//  major isom, iso2, mp41, mp42, avc1, dash or "M4V " is video, "M4A " or
//  "M4B " audio; another major brand by the first of those among its
//  compatible brands; a HEIF/AVIF still image (heic, mif1, msf1, avif, ...)
//  never, nor a brand unknown here (QuickTime "qt  ", 3GP)
const char *hl_evidence_sniff (const unsigned char *head, size_t size);
//  hl_evidence_file_kind, for the first bytes of a file
const char *hl_evidence_kind (const unsigned char *head, size_t n, char *name, size_t size);
//  Is ref stored here (a plain look at its content address, no reading)
bool hl_evidence_has (hl_evidence_t *self, const char *ref);
//  Read up to size bytes of the stored file ref from offset into buffer:
//  the count read (0 at or past its end); -1 when there is no such file or
//  it cannot be read (logged, but for a missing file)
ssize_t hl_evidence_read (hl_evidence_t *self, const char *ref, uint64_t offset,
                          void *buffer, size_t size);
//  Delete the stored file ref, unless it was written after after_ms (ms
//  since the epoch, its mtime: a commit of the same bytes renames a new
//  file over the old one, so an upload again is a new mtime). A commit
//  that lands while this runs is kept too: the file is moved aside into
//  tmp/ before it is judged, and put back when it is recent. 0 deleted
//  (or not there); 1 kept; -1 on an I/O error (logged; the file stays)
int hl_evidence_release (hl_evidence_t *self, const char *ref, int64_t after_ms);

//  At start-up, by the one process that releases files (the archive;
//  never the web, which shares the folder): the temporary files a crash
//  left in tmp/. The count dealt with, or -1 when tmp/ cannot be read
//  (logged).
//  - <hex>.release (hl_evidence_release stopped between moving the file
//    aside and deleting it): put back under its content address, unless a
//    file is there already (a newer commit of the same bytes: the aside
//    copy is removed). Never deleted here: the crash may have come after
//    the file was judged recent (a commit of the same bytes landing while
//    it was released, which a filing names), and its caller marks nothing
//    released until the call returns, so the next deletion pass judges it
//    again by its mtime. Any age: putting back is safe even beside another
//    release of the same file (that one then fails, "the file stays").
//  - *.part (a file written by hl_evidence_file_*, its writer gone): removed
//    when not written for min_age_ms (its mtime); a writer appends as the
//    bytes arrive, so a file being written now is younger than that.
//  - *.piece is left alone: a transfer in pieces resumes after a restart
//    from its cursor (hl_evidence_piece_drop removes a transfer given up).
int hl_evidence_sweep (hl_evidence_t *self, int64_t min_age_ms);

// ------------------------------------------------------- beyond the ward
//  A file leaves its ward (for the city, when its case is forwarded) as
//  the copy that may be shown beyond the ward: a JPEG without its APP1
//  and APP13 segments (hl_jpeg), any other type as it is. The copy is a
//  stored file of its own, under its own content address, so it can be
//  read piece by piece later and named by its SHA-256.
//
//  out_ref (HL_EVIDENCE_REF_SIZE bytes) gets the copy's ref (ref itself
//  when nothing had to be taken out) and *bytes its size. 0; 1 when there
//  is no such file, or it is a JPEG too damaged to filter (it is never
//  shown beyond the ward, logged); -1 on an I/O error (logged).
int hl_evidence_outgoing (hl_evidence_t *self, const char *ref, char *out_ref, size_t *bytes);

// ------------------------------------------------------- in pieces
//  A file that arrives in pieces, in order (the city: a ward's evidence
//  stream). name (letters, digits, '-' and '_', at most 100) names the
//  transfer: its pieces go to one temporary file, tmp/<name>.piece.
//
//  _piece_write writes size bytes at offset and fsyncs them, so a piece
//  written again (a redelivery after a crash) writes the same bytes to the
//  same place; offset 0 starts the temporary file afresh. 0 or -1
//  (logged).
int hl_evidence_piece_write (hl_evidence_t *self, const char *name, uint64_t offset,
                             const void *data, size_t size);
//  The last piece is in: the temporary file must be total bytes with the
//  SHA-256 of ref and an accepted type. Then it is committed under ref
//  (rename, fsync the folder) and visible. 0 (*type set); 1 when it is
//  not the file ref names (size, hash or type: the temporary file is
//  removed, nothing kept; logged); -1 on an I/O error (logged).
int hl_evidence_piece_finish (hl_evidence_t *self, const char *name, const char *ref,
                              uint64_t total, const char **type);
//  Remove the temporary files of every transfer whose name starts with
//  prefix (a transfer given up). The count removed.
size_t hl_evidence_piece_drop (hl_evidence_t *self, const char *prefix);

void hl_evidence_test (bool verbose);
#endif
