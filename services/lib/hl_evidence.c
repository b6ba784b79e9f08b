/*  hl_evidence — content-addressed, durable evidence files (see
 *  hl_evidence.h).
 *
 *  Reading this file: the magic bytes (an ISO media file by its brands,
 *  then naming what a refused file is); the folder; writing one file
 *  (temp, hash as it arrives, fsync, rename, fsync the folder); finding and
 *  reading a stored file; the copy that leaves the ward (a JPEG filtered,
 *  stored as a file of its own); a file arriving in pieces (pwrite at each
 *  offset, fsync, then the hash checked before the rename); the selftest.
 */
#include "hotline.h"
#include "hl_evidence.h"
#include <sodium.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <dirent.h>
#include <inttypes.h>

//  Bytes kept for the magic check: an ISO file's ftyp box is 8 bytes of
//  header, its major brand, a minor version and its compatible brands; 64
//  holds twelve of those (an iPhone's HEIC lists five, an MP4 four)
#define S_HEAD  64

struct _hl_evidence_t {
    char *dir;
    char *tmp;
};

struct _hl_evidence_file_t {
    hl_evidence_t *owner;
    char *path;                 //  the temporary file
    int fd;
    size_t size, max;
    bool over, committed;
    unsigned char head [S_HEAD];
    crypto_hash_sha256_state sha;
};

// ------------------------------------------------------------- magic bytes

//  ISO base media brands (ISO/IEC 14496-12 ftyp; mp4ra.org's list). Only
//  these say the file is one of the types we accept; everything else
//  with an ftyp box (a HEIC photo, a QuickTime movie, 3GP) is refused,
//  where it was once all taken as video/mp4 and shown as a broken video
static const char *s_video_brands [] = {
    "isom", "iso2", "mp41", "mp42", "avc1", "dash", "M4V ", NULL
};
static const char *s_audio_brands [] = { "M4A ", "M4B ", NULL };
//  Still images in an ISO box (HEIF, ISO/IEC 23008-12; AVIF): refused even
//  when they also claim a brand above, a picture is never a video
static const char *s_image_brands [] = {
    "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs",
    "mif1", "mif2", "msf1", "miaf", "avif", "avis", "avio", NULL
};

static bool
s_brand_in (const unsigned char *brand, const char **list)
{
    for (size_t i = 0; list [i]; i++)
        if (memcmp (brand, list [i], 4) == 0)
            return true;
    return false;
}

//  An ISO file (h has "ftyp" at 4): "video/mp4", "audio/mp4" or NULL. The
//  major brand decides when it is one we know; else the first compatible
//  brand we know (the box's size bounds the list)
static const char *
s_iso_type (const unsigned char *h, size_t n)
{
    const unsigned char *major = h + 8;
    if (s_brand_in (major, s_image_brands))
        return NULL;
    if (s_brand_in (major, s_audio_brands))
        return "audio/mp4";
    if (s_brand_in (major, s_video_brands))
        return "video/mp4";
    size_t box = (size_t) h [0] << 24 | (size_t) h [1] << 16 | (size_t) h [2] << 8 | h [3];
    size_t end = box < n? box: n;
    const char *type = NULL;
    for (size_t at = 16; at + 4 <= end; at += 4) {
        if (s_brand_in (h + at, s_image_brands))
            return NULL;
        if (!type && s_brand_in (h + at, s_audio_brands))
            type = "audio/mp4";
        if (!type && s_brand_in (h + at, s_video_brands))
            type = "video/mp4";
    }
    return type;
}

const char *
hl_evidence_sniff (const unsigned char *h, size_t n)
{
    if (n >= 3 && h [0] == 0xFF && h [1] == 0xD8 && h [2] == 0xFF)
        return "image/jpeg";
    if (n >= 8 && memcmp (h, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 12 && memcmp (h, "RIFF", 4) == 0 && memcmp (h + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (n >= 12 && memcmp (h + 4, "ftyp", 4) == 0)
        return s_iso_type (h, n);
    if (n >= 4 && memcmp (h, "OggS", 4) == 0)
        return "audio/ogg";
    if (n >= 3 && memcmp (h, "ID3", 3) == 0)
        return "audio/mpeg";
    if (n >= 2 && h [0] == 0xFF) {
        //  Frame sync (11 bits). Layer bits 00 is ADTS (AAC); 01-11 are
        //  MPEG audio layers III-I (MP3 is layer III)
        if ((h [1] & 0xF6) == 0xF0)
            return "audio/aac";
        if ((h [1] & 0xE0) == 0xE0 && ((h [1] >> 1) & 3) != 0)
            return "audio/mpeg";
    }
    return NULL;
}

const char *
hl_evidence_kind (const unsigned char *h, size_t n, char *name, size_t size)
{
    if (n >= 12 && memcmp (h + 4, "ftyp", 4) == 0) {
        const unsigned char *major = h + 8;
        if (memcmp (major, "avi", 3) == 0)
            snprintf (name, size, "AVIF");
        else
        if (s_brand_in (major, s_image_brands))
            snprintf (name, size, "HEIC/HEIF");
        else
        if (memcmp (major, "qt  ", 4) == 0)
            snprintf (name, size, "MOV QuickTime");
        else
        if (memcmp (major, "3gp", 3) == 0 || memcmp (major, "3g2", 3) == 0)
            snprintf (name, size, "3GP");
        else {
            //  Another brand: named as sent, its bytes made printable (it
            //  goes into a JSON message and a log)
            char brand [5];
            for (int i = 0; i < 4; i++)
                brand [i] = major [i] >= 0x20 && major [i] < 0x7F && major [i] != '\''? (char) major [i]: '?';
            brand [4] = 0;
            snprintf (name, size, "ISO '%s'", brand);
        }
        return name;
    }
    if (n >= 6 && (memcmp (h, "GIF87a", 6) == 0 || memcmp (h, "GIF89a", 6) == 0)) {
        snprintf (name, size, "GIF");
        return name;
    }
    return NULL;
}

const char *
hl_evidence_file_kind (hl_evidence_file_t *self, char *name, size_t size)
{
    return hl_evidence_kind (self->head, self->size < S_HEAD? self->size: S_HEAD, name, size);
}

// ------------------------------------------------------------- the folder

static int
s_mkdir (const char *path)
{
    if (mkdir (path, 0750) == 0 || errno == EEXIST)
        return 0;
    hl_error ("evidence: cannot create %s: %s", path, strerror (errno));
    return -1;
}

//  fsync a folder, so that a rename or a new entry in it survives a crash
static int
s_sync_dir (const char *path)
{
    int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync (fd)) {
        hl_error ("evidence: cannot fsync %s: %s", path, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    close (fd);
    return 0;
}

hl_evidence_t *
hl_evidence_new (const char *dir)
{
    assert (dir);
    if (sodium_init () < 0) {
        hl_error ("evidence: libsodium failed to initialise");
        return NULL;
    }
    hl_evidence_t *self = (hl_evidence_t *) zmalloc (sizeof (hl_evidence_t));
    self->dir = hl_strdup (dir);
    self->tmp = zsys_sprintf ("%s/tmp", dir);
    assert (self->dir && self->tmp);
    if (s_mkdir (self->dir) || s_mkdir (self->tmp))
        hl_evidence_destroy (&self);
    return self;
}

void
hl_evidence_destroy (hl_evidence_t **self_p)
{
    assert (self_p);
    hl_evidence_t *self = *self_p;
    if (self) {
        free (self->dir);
        free (self->tmp);
        free (self);
        *self_p = NULL;
    }
}

const char *
hl_evidence_dir (hl_evidence_t *self)
{
    return self->dir;
}

//  Give a durable temporary file (fsynced) its content address: the
//  folder (made durable if new), the rename, the folder fsynced. *renamed
//  is set once the temporary name is gone. 0 or -1 (logged)
static int
s_place (hl_evidence_t *self, const char *path, const char *hex, bool *renamed)
{
    char folder [PATH_MAX], target [PATH_MAX + 80];
    snprintf (folder, sizeof folder, "%s/%.2s", self->dir, hex);
    snprintf (target, sizeof target, "%s/%s", folder, hex + 2);
    struct stat info;
    bool created = stat (folder, &info) != 0;
    if (s_mkdir (folder) || (created && s_sync_dir (self->dir)))
        return -1;
    if (rename (path, target)) {
        hl_error ("evidence: cannot rename %s to %s: %s", path, target, strerror (errno));
        return -1;
    }
    *renamed = true;
    return s_sync_dir (folder);
}

// ------------------------------------------------------------- one file

hl_evidence_file_t *
hl_evidence_file_new (hl_evidence_t *self, size_t max_bytes)
{
    hl_evidence_file_t *file = (hl_evidence_file_t *) zmalloc (sizeof (hl_evidence_file_t));
    file->owner = self;
    file->max = max_bytes;
    unsigned char raw [12];
    randombytes_buf (raw, sizeof raw);
    char hex [25];
    sodium_bin2hex (hex, sizeof hex, raw, sizeof raw);
    file->path = zsys_sprintf ("%s/%s.part", self->tmp, hex);
    file->fd = open (file->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (file->fd < 0) {
        hl_error ("evidence: cannot create %s: %s", file->path, strerror (errno));
        free (file->path);
        free (file);
        return NULL;
    }
    crypto_hash_sha256_init (&file->sha);
    return file;
}

void
hl_evidence_file_destroy (hl_evidence_file_t **self_p)
{
    assert (self_p);
    hl_evidence_file_t *self = *self_p;
    if (self) {
        if (self->fd >= 0)
            close (self->fd);
        if (!self->committed)
            unlink (self->path);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

int
hl_evidence_file_write (hl_evidence_file_t *self, const void *data, size_t size)
{
    if (self->over || self->size + size > self->max) {
        //  Past the limit: keep nothing more (the caller refuses the whole
        //  request, and destroying the file unlinks what was written)
        self->over = true;
        return 1;
    }
    if (self->size < S_HEAD) {
        size_t take = size < S_HEAD - self->size? size: S_HEAD - self->size;
        memcpy (self->head + self->size, data, take);
    }
    const char *p = (const char *) data;
    size_t left = size;
    while (left) {
        ssize_t rc = write (self->fd, p, left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            hl_error ("evidence: cannot write %s: %s", self->path, strerror (errno));
            return -1;
        }
        p += rc;
        left -= (size_t) rc;
    }
    crypto_hash_sha256_update (&self->sha, (const unsigned char *) data, size);
    self->size += size;
    return 0;
}

size_t
hl_evidence_file_size (hl_evidence_file_t *self)
{
    return self->size;
}

const char *
hl_evidence_file_type (hl_evidence_file_t *self)
{
    if (self->size == 0 || self->over)
        return NULL;
    return hl_evidence_sniff (self->head, self->size < S_HEAD? self->size: S_HEAD);
}

int
hl_evidence_file_commit (hl_evidence_file_t *self, char *ref)
{
    assert (!self->committed);
    if (self->over || self->size == 0)
        return -1;
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final (&self->sha, digest);
    char hex [crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    //  The bytes first, then the name: a crash between leaves a temporary
    //  file, never a content address with partial content
    if (fsync (self->fd)) {
        hl_error ("evidence: cannot fsync %s: %s", self->path, strerror (errno));
        return -1;
    }
    close (self->fd);
    self->fd = -1;
    int rc = s_place (self->owner, self->path, hex, &self->committed);
    if (rc == 0)
        snprintf (ref, HL_EVIDENCE_REF_SIZE, "sha256:%s", hex);
    return rc;
}

// ------------------------------------------------------------- finding one

bool
hl_evidence_ref_valid (const char *ref)
{
    return ref && strncmp (ref, "sha256:", 7) == 0 && strlen (ref) == 71
        && strspn (ref + 7, "0123456789abcdef") == 64;
}

int
hl_evidence_find (hl_evidence_t *self, const char *ref, char *path, size_t size,
                  const char **type, size_t *bytes)
{
    if (!hl_evidence_ref_valid (ref))
        return 1;
    snprintf (path, size, "%s/%.2s/%s", self->dir, ref + 7, ref + 9);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT? 1: -1;
    struct stat info;
    unsigned char head [S_HEAD];
    ssize_t got = fstat (fd, &info) == 0? read (fd, head, sizeof head): -1;
    close (fd);
    if (got < 0)
        return -1;
    *type = hl_evidence_sniff (head, (size_t) got);
    *bytes = (size_t) info.st_size;
    return *type? 0: 1;
}

bool
hl_evidence_has (hl_evidence_t *self, const char *ref)
{
    if (!hl_evidence_ref_valid (ref))
        return false;
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%.2s/%s", self->dir, ref + 7, ref + 9);
    struct stat info;
    return stat (path, &info) == 0 && S_ISREG (info.st_mode);
}

ssize_t
hl_evidence_read (hl_evidence_t *self, const char *ref, uint64_t offset, void *buffer, size_t size)
{
    if (!hl_evidence_ref_valid (ref))
        return -1;
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%.2s/%s", self->dir, ref + 7, ref + 9);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            hl_error ("evidence: cannot open %s: %s", path, strerror (errno));
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t rc = pread (fd, (char *) buffer + got, size - got, (off_t) (offset + got));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            hl_error ("evidence: cannot read %s: %s", path, strerror (errno));
            close (fd);
            return -1;
        }
        if (rc == 0)
            break;              //  the end of the file
        got += (size_t) rc;
    }
    close (fd);
    return (ssize_t) got;
}

// ------------------------------------------------------------- beyond the ward

//  The whole of a stored file, in a buffer (caller frees). 0, 1 when there
//  is no such file, -1 on an error (logged)
static int
s_slurp (hl_evidence_t *self, const char *ref, unsigned char **data, size_t *size)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%.2s/%s", self->dir, ref + 7, ref + 9);
    struct stat info;
    if (stat (path, &info))
        return errno == ENOENT? 1: -1;
    *size = (size_t) info.st_size;
    *data = (unsigned char *) zmalloc (*size? *size: 1);
    ssize_t got = hl_evidence_read (self, ref, 0, *data, *size);
    if (got < 0 || (size_t) got != *size) {
        if (got >= 0)
            hl_error ("evidence: %s changed size while read", path);
        free (*data);
        *data = NULL;
        return -1;
    }
    return 0;
}

int
hl_evidence_outgoing (hl_evidence_t *self, const char *ref, char *out_ref, size_t *bytes)
{
    if (!hl_evidence_ref_valid (ref))
        return 1;
    unsigned char *data = NULL;
    size_t size = 0;
    int rc = s_slurp (self, ref, &data, &size);
    if (rc)
        return rc;
    const char *type = hl_evidence_sniff (data, size < S_HEAD? size: S_HEAD);
    unsigned char *copy = NULL;
    size_t copy_size = 0;
    if (!type || strneq (type, "image/jpeg")) {
        //  Nothing to take out: the file leaves as it is
        snprintf (out_ref, HL_EVIDENCE_REF_SIZE, "%s", ref);
        *bytes = size;
    }
    else
    if (hl_jpeg_strip (data, size, &copy, &copy_size)) {
        hl_warn ("evidence: %.19s... is a JPEG too damaged to filter; it stays at the ward", ref);
        rc = 1;
    }
    else
    if (copy_size == size) {
        //  The filter only takes segments out: as long, it is the same file
        snprintf (out_ref, HL_EVIDENCE_REF_SIZE, "%s", ref);
        *bytes = size;
    }
    else {
        hl_evidence_file_t *file = hl_evidence_file_new (self, copy_size);
        rc = !file || hl_evidence_file_write (file, copy, copy_size)
          || hl_evidence_file_commit (file, out_ref)? -1: 0;
        hl_evidence_file_destroy (&file);
        *bytes = copy_size;
    }
    free (copy);
    free (data);
    return rc;
}

//  Its mtime in ms since the epoch (whole ms: a stamp taken after the
//  write is never below it), or -1
static int64_t
s_mtime_ms (const char *path)
{
    struct stat info;
    if (stat (path, &info))
        return -1;
    return (int64_t) info.st_mtim.tv_sec * 1000 + info.st_mtim.tv_nsec / 1000000;
}

int
hl_evidence_release (hl_evidence_t *self, const char *ref, int64_t after_ms)
{
    if (!hl_evidence_ref_valid (ref))
        return 0;
    char path [PATH_MAX], aside [PATH_MAX + 80];
    snprintf (path, sizeof path, "%s/%.2s/%s", self->dir, ref + 7, ref + 9);
    snprintf (aside, sizeof aside, "%s/%s.release", self->tmp, ref + 7);
    int64_t mtime = s_mtime_ms (path);
    if (mtime < 0 && errno == ENOENT)
        return 0;
    if (mtime < 0) {
        hl_error ("evidence: cannot stat %s: %s", path, strerror (errno));
        return -1;
    }
    if (mtime > after_ms)
        return 1;
    //  Old enough: moved aside, then judged again, so that a commit of the
    //  same bytes between our look and the unlink is not what is deleted
    if (rename (path, aside)) {
        if (errno == ENOENT)
            return 0;
        hl_error ("evidence: cannot move %s aside: %s", path, strerror (errno));
        return -1;
    }
    mtime = s_mtime_ms (aside);
    if (mtime >= 0 && mtime <= after_ms) {
        if (unlink (aside) == 0)
            return 0;
        hl_error ("evidence: cannot delete %s: %s", aside, strerror (errno));
    }
    //  Recent after all (or not deletable): back under its name, unless a
    //  newer commit of the same bytes is there already
    if (link (aside, path) && errno != EEXIST) {
        hl_error ("evidence: cannot put %s back: %s", path, strerror (errno));
        return -1;
    }
    unlink (aside);
    return mtime >= 0 && mtime > after_ms? 1: -1;
}

//  tmp/<64 hex>.release put back (see hl_evidence.h): 0; 1 when a newer
//  commit of the same bytes was there (only the aside copy removed); -1
//  (logged)
static int
s_put_back (hl_evidence_t *self, const char *aside, const char *hex)
{
    char folder [PATH_MAX], path [PATH_MAX + 80];
    snprintf (folder, sizeof folder, "%s/%.2s", self->dir, hex);
    snprintf (path, sizeof path, "%s/%s", folder, hex + 2);
    if (s_mkdir (folder))
        return -1;
    //  link, not rename: a file there is a newer commit of the same bytes,
    //  whose newer mtime keeps it from an old filing's deletion
    int rc = 0;
    if (link (aside, path)) {
        if (errno != EEXIST) {
            hl_error ("evidence: cannot put %s back: %s", path, strerror (errno));
            return -1;
        }
        rc = 1;
    }
    if (s_sync_dir (folder))
        return -1;
    unlink (aside);
    return rc;
}

int
hl_evidence_sweep (hl_evidence_t *self, int64_t min_age_ms)
{
    DIR *dir = opendir (self->tmp);
    if (!dir) {
        hl_error ("evidence: cannot read %s: %s", self->tmp, strerror (errno));
        return -1;
    }
    int64_t now = zclock_time ();
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        const char *name = entry->d_name;
        const char *suffix = strrchr (name, '.');
        if (!suffix)
            continue;
        char path [PATH_MAX + 256];
        snprintf (path, sizeof path, "%s/%s", self->tmp, name);
        if (streq (suffix, ".release") && suffix - name == 64
        &&  strspn (name, "0123456789abcdef") == 64) {
            char hex [65];
            memcpy (hex, name, 64);
            hex [64] = 0;
            int rc = s_put_back (self, path, hex);
            if (rc >= 0) {
                hl_info ("evidence: sha256:%.16s..., moved aside by a release that did not end: %s",
                         hex, rc? "a newer copy is stored, the old one removed": "put back");
                count++;
            }
        }
        else
        if (streq (suffix, ".part")) {
            int64_t mtime = s_mtime_ms (path);
            if (mtime >= 0 && now - mtime >= min_age_ms && unlink (path) == 0)
                count++;
        }
    }
    closedir (dir);
    return count;
}

// ------------------------------------------------------------- in pieces

static bool
s_piece_name_ok (const char *name)
{
    size_t len = name? strlen (name): 0;
    return len > 0 && len <= 100
        && strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == len;
}

int
hl_evidence_piece_write (hl_evidence_t *self, const char *name, uint64_t offset,
                         const void *data, size_t size)
{
    if (!s_piece_name_ok (name)) {
        hl_error ("evidence: '%.40s' is not a transfer name", name? name: "");
        return -1;
    }
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s.piece", self->tmp, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0? O_TRUNC: 0), 0640);
    if (fd < 0) {
        hl_error ("evidence: cannot open %s: %s", path, strerror (errno));
        return -1;
    }
    const char *p = (const char *) data;
    size_t left = size;
    off_t at = (off_t) offset;
    while (left) {
        ssize_t rc = pwrite (fd, p, left, at);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0) {
            hl_error ("evidence: cannot write %s: %s", path, strerror (errno));
            close (fd);
            return -1;
        }
        p += rc;
        at += rc;
        left -= (size_t) rc;
    }
    //  Durable before the caller's transaction records the piece as had
    if (fsync (fd)) {
        hl_error ("evidence: cannot fsync %s: %s", path, strerror (errno));
        close (fd);
        return -1;
    }
    close (fd);
    return 0;
}

int
hl_evidence_piece_finish (hl_evidence_t *self, const char *name, const char *ref,
                          uint64_t total, const char **type)
{
    if (!s_piece_name_ok (name) || !hl_evidence_ref_valid (ref)) {
        hl_error ("evidence: '%.40s' is not a transfer name or '%.80s' not a ref",
                  name? name: "", ref? ref: "");
        return -1;
    }
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s.piece", self->tmp, name);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        hl_error ("evidence: cannot open %s: %s", path, strerror (err));
        return err == ENOENT? 1: -1;
    }
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init (&sha);
    unsigned char head [S_HEAD];
    unsigned char block [65536];
    uint64_t size = 0;
    while (true) {
        ssize_t rc = read (fd, block, sizeof block);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            hl_error ("evidence: cannot read %s: %s", path, strerror (errno));
            close (fd);
            return -1;
        }
        if (rc == 0)
            break;
        if (size < S_HEAD)
            memcpy (head + size, block, (size_t) rc < S_HEAD - size? (size_t) rc: S_HEAD - size);
        crypto_hash_sha256_update (&sha, block, (size_t) rc);
        size += (uint64_t) rc;
    }
    close (fd);
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final (&sha, digest);
    char hex [crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    *type = size? hl_evidence_sniff (head, size < S_HEAD? size: S_HEAD): NULL;
    if (size != total || strneq (hex, ref + 7) || !*type) {
        hl_error ("evidence: transfer %s is not %.19s... (%" PRIu64 " of %" PRIu64 " bytes,"
                  " hash %s, type %s): dropped", name, ref, size, total,
                  strneq (hex, ref + 7)? "differs": "matches", *type? *type: "refused");
        unlink (path);
        return 1;
    }
    bool renamed = false;
    return s_place (self, path, hex, &renamed);
}

size_t
hl_evidence_piece_drop (hl_evidence_t *self, const char *prefix)
{
    size_t count = 0;
    DIR *dir = opendir (self->tmp);
    if (!dir)
        return 0;
    size_t len = strlen (prefix);
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        const char *suffix = strrchr (entry->d_name, '.');
        if (strncmp (entry->d_name, prefix, len) || !suffix || strneq (suffix, ".piece"))
            continue;
        char path [PATH_MAX + 256];
        snprintf (path, sizeof path, "%s/%s", self->tmp, entry->d_name);
        if (unlink (path) == 0)
            count++;
    }
    closedir (dir);
    return count;
}

// ------------------------------------------------------------- selftest

static size_t
s_count_files (const char *dir)
{
    zdir_t *tree = zdir_new (dir, NULL);
    size_t count = tree? zdir_count (tree): 0;
    zdir_destroy (&tree);
    return count;
}

//  An ftyp box of 24 bytes: major brand, minor version 0, two compatible
static void
s_ftyp (unsigned char *box, const char *major, const char *compat1, const char *compat2)
{
    memcpy (box, "\0\0\0\x18" "ftyp", 8);
    memcpy (box + 8, major, 4);
    memcpy (box + 12, "\0\0\0\0", 4);
    memcpy (box + 16, compat1, 4);
    memcpy (box + 20, compat2, 4);
    memcpy (box + 24, "\0\0\0\x08" "free", 8);      //  the next box
}

static const char *
s_sniff_ftyp (const char *major, const char *compat1, const char *compat2)
{
    unsigned char box [32];
    s_ftyp (box, major, compat1, compat2);
    return hl_evidence_sniff (box, sizeof box);
}

void
hl_evidence_test (bool verbose)
{
    printf (" * hl_evidence: ");
    //  The magic bytes
    assert (streq (hl_evidence_sniff ((const unsigned char *) "\xFF\xD8\xFF\xE0", 4), "image/jpeg"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "\x89PNG\r\n\x1a\n", 8), "image/png"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "RIFF\0\0\0\0WEBPVP8 ", 16), "image/webp"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "\0\0\0\x20" "ftypisom", 12), "video/mp4"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "\0\0\0\x20" "ftypM4A ", 12), "audio/mp4"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "OggS\0", 5), "audio/ogg"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "ID3\4", 4), "audio/mpeg"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "\xFF\xFB\x90", 3), "audio/mpeg"));
    assert (streq (hl_evidence_sniff ((const unsigned char *) "\xFF\xF1\x50", 3), "audio/aac"));
    assert (!hl_evidence_sniff ((const unsigned char *) "\x7F" "ELF\2\1\1", 7));
    assert (!hl_evidence_sniff ((const unsigned char *) "\xFF\xD8", 2));
    assert (!hl_evidence_sniff ((const unsigned char *) "", 0));
    assert (!hl_evidence_sniff ((const unsigned char *) "GIF89a", 6));
    //  ISO media: the brands decide, and only ours pass
    const char *video [] = { "isom", "iso2", "mp41", "mp42", "avc1", "dash", "M4V ", NULL };
    for (size_t i = 0; video [i]; i++)
        assert (streq (s_sniff_ftyp (video [i], "mp41", "isom"), "video/mp4"));
    assert (streq (s_sniff_ftyp ("M4A ", "M4A ", "mp42"), "audio/mp4"));
    assert (streq (s_sniff_ftyp ("M4B ", "isom", "mp42"), "audio/mp4"));
    const char *photos [] = { "heic", "heix", "mif1", "msf1", "avif", NULL };
    char kind [32];
    unsigned char box [32];
    for (size_t i = 0; photos [i]; i++) {
        assert (!s_sniff_ftyp (photos [i], "mif1", "heic"));
        s_ftyp (box, photos [i], "mif1", "heic");
        assert (hl_evidence_kind (box, sizeof box, kind, sizeof kind)
                && streq (kind, streq (photos [i], "avif")? "AVIF": "HEIC/HEIF"));
    }
    //  A major brand we do not know: the compatible ones decide, a picture
    //  among them refuses it, none of ours refuses it
    assert (streq (s_sniff_ftyp ("3gp5", "3gp5", "isom"), "video/mp4"));
    assert (streq (s_sniff_ftyp ("f4a ", "M4A ", "mp42"), "audio/mp4"));
    assert (!s_sniff_ftyp ("zzzz", "isom", "mif1"));
    assert (!s_sniff_ftyp ("3gp5", "3gp5", "3gp4"));
    s_ftyp (box, "3gp5", "3gp5", "3gp4");
    assert (streq (hl_evidence_kind (box, sizeof box, kind, sizeof kind), "3GP"));
    assert (!s_sniff_ftyp ("qt  ", "qt  ", "qt  "));
    s_ftyp (box, "qt  ", "qt  ", "qt  ");
    assert (streq (hl_evidence_kind (box, sizeof box, kind, sizeof kind), "MOV QuickTime"));
    s_ftyp (box, "a\n'b", "abcd", "abcd");
    assert (!hl_evidence_sniff (box, sizeof box));
    assert (streq (hl_evidence_kind (box, sizeof box, kind, sizeof kind), "ISO 'a??b'"));
    //  The box's own size bounds its brands: "isom" past it is not one
    s_ftyp (box, "zzzz", "isom", "isom");
    box [3] = 16;
    assert (!hl_evidence_sniff (box, sizeof box));
    assert (!hl_evidence_kind ((const unsigned char *) "\x7F" "ELF\2\1\1", 7, kind, sizeof kind));
    assert (streq (hl_evidence_kind ((const unsigned char *) "GIF89a", 6, kind, sizeof kind), "GIF"));
    assert (hl_evidence_ref_valid ("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert (!hl_evidence_ref_valid ("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert (!hl_evidence_ref_valid ("sha256:../../etc/passwd"));
    assert (!hl_evidence_ref_valid (NULL));

    char dir [] = "/tmp/hl_evidence_XXXXXX";
    assert (mkdtemp (dir));
    char root [PATH_MAX];
    snprintf (root, sizeof root, "%s/evidence", dir);
    hl_evidence_t *evidence = hl_evidence_new (root);
    assert (evidence);

    //  A photo, written in two pieces, committed under its SHA-256
    hl_evidence_file_t *file = hl_evidence_file_new (evidence, 64);
    assert (file);
    assert (hl_evidence_file_write (file, "\xFF\xD8\xFF\xE0", 4) == 0);
    assert (hl_evidence_file_write (file, "jpeg bytes", 10) == 0);
    assert (hl_evidence_file_size (file) == 14);
    assert (streq (hl_evidence_file_type (file), "image/jpeg"));
    char ref [HL_EVIDENCE_REF_SIZE];
    assert (hl_evidence_file_commit (file, ref) == 0);
    hl_evidence_file_destroy (&file);
    assert (!file);
    unsigned char digest [crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) "\xFF\xD8\xFF\xE0jpeg bytes", 14);
    char hex [65];
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    assert (strncmp (ref, "sha256:", 7) == 0 && streq (ref + 7, hex));
    char path [PATH_MAX];
    const char *type;
    size_t bytes;
    assert (hl_evidence_find (evidence, ref, path, sizeof path, &type, &bytes) == 0);
    assert (streq (type, "image/jpeg") && bytes == 14);
    assert (hl_evidence_find (evidence, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                              path, sizeof path, &type, &bytes) == 1);
    assert (hl_evidence_find (evidence, "nonsense", path, sizeof path, &type, &bytes) == 1);

    //  The same bytes again: one file
    file = hl_evidence_file_new (evidence, 64);
    assert (hl_evidence_file_write (file, "\xFF\xD8\xFF\xE0jpeg bytes", 14) == 0);
    char again [HL_EVIDENCE_REF_SIZE];
    assert (hl_evidence_file_commit (file, again) == 0 && streq (again, ref));
    hl_evidence_file_destroy (&file);

    //  Past the limit: refused, nothing left behind
    file = hl_evidence_file_new (evidence, 8);
    assert (hl_evidence_file_write (file, "\xFF\xD8\xFF\xE0", 4) == 0);
    assert (hl_evidence_file_write (file, "12345", 5) == 1);
    assert (hl_evidence_file_write (file, "1", 1) == 1);
    assert (!hl_evidence_file_type (file));
    assert (hl_evidence_file_commit (file, again) == -1);
    hl_evidence_file_destroy (&file);
    //  An iPhone's HEIC photo: refused, and named for the message
    file = hl_evidence_file_new (evidence, 64);
    unsigned char heic [32];
    s_ftyp (heic, "heic", "mif1", "heic");
    assert (hl_evidence_file_write (file, heic, 20) == 0);
    assert (hl_evidence_file_write (file, heic + 20, 12) == 0);
    assert (!hl_evidence_file_type (file));
    assert (streq (hl_evidence_file_kind (file, kind, sizeof kind), "HEIC/HEIF"));
    hl_evidence_file_destroy (&file);
    //  Not an accepted type, and empty: destroyed uncommitted, nothing kept
    file = hl_evidence_file_new (evidence, 64);
    assert (hl_evidence_file_write (file, "\x7F" "ELF\2\1\1", 7) == 0);
    assert (!hl_evidence_file_type (file));
    hl_evidence_file_destroy (&file);
    file = hl_evidence_file_new (evidence, 64);
    assert (!hl_evidence_file_type (file));
    assert (hl_evidence_file_commit (file, again) == -1);
    hl_evidence_file_destroy (&file);
    assert (s_count_files (root) == 1);
    char tmp [PATH_MAX + 8];
    snprintf (tmp, sizeof tmp, "%s/tmp", root);
    assert (s_count_files (tmp) == 0);
    assert (hl_evidence_has (evidence, ref));
    assert (!hl_evidence_has (evidence, "sha256:0000000000000000000000000000000000000000000000000000000000000000"));
    //  In a buffer, not a literal: gcc 12 at -O2 inlines the call and warns
    //  (-Warray-bounds) that ref + 9 lies past a 5-byte literal, although
    //  hl_evidence_ref_valid has refused it by then
    char traversal [72] = "../x";
    assert (!hl_evidence_has (evidence, traversal));
    //  Reading pieces of a stored file
    char piece [8];
    assert (hl_evidence_read (evidence, ref, 0, piece, 4) == 4 && memcmp (piece, "\xFF\xD8\xFF\xE0", 4) == 0);
    assert (hl_evidence_read (evidence, ref, 10, piece, 8) == 4 && memcmp (piece, "ytes", 4) == 0);
    assert (hl_evidence_read (evidence, ref, 14, piece, 8) == 0);
    assert (hl_evidence_read (evidence, "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                              0, piece, 8) == -1);

    //  Beyond the ward: a JPEG leaves without its APP1 (Exif) as a stored
    //  file of its own; a file with nothing to take out leaves as it is
    static const unsigned char photo [] = {
        0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x08, 'E', 'x', 'i', 'f', 'G', 'P',
        0xFF, 0xDA, 0x00, 0x04, 0x00, 0x00, 0x12, 0x34, 0xFF, 0xD9
    };
    file = hl_evidence_file_new (evidence, 64);
    assert (hl_evidence_file_write (file, photo, sizeof photo) == 0);
    char photo_ref [HL_EVIDENCE_REF_SIZE];
    assert (hl_evidence_file_commit (file, photo_ref) == 0);
    hl_evidence_file_destroy (&file);
    char out [HL_EVIDENCE_REF_SIZE];
    size_t out_bytes = 0;
    assert (hl_evidence_outgoing (evidence, photo_ref, out, &out_bytes) == 0);
    assert (strneq (out, photo_ref) && out_bytes == sizeof photo - 10);
    unsigned char back [32];
    assert (hl_evidence_read (evidence, out, 0, back, sizeof back) == (ssize_t) out_bytes);
    assert (memcmp (back, "\xFF\xD8\xFF\xDA", 4) == 0 && !memmem (back, out_bytes, "Exif", 4));
    assert (hl_evidence_find (evidence, out, path, sizeof path, &type, &bytes) == 0
         && streq (type, "image/jpeg"));
    char again_out [HL_EVIDENCE_REF_SIZE];
    assert (hl_evidence_outgoing (evidence, out, again_out, &out_bytes) == 0 && streq (again_out, out));
    assert (hl_evidence_outgoing (evidence, ref, again_out, &out_bytes) == 1);    //  no scan: damaged
    //  ... a damaged JPEG, a missing file, a bad ref: nothing leaves
    file = hl_evidence_file_new (evidence, 64);
    assert (hl_evidence_file_write (file, "\xFF\xD8\xFF\xE1\x7F\x00junk", 10) == 0);
    char damaged [HL_EVIDENCE_REF_SIZE];
    assert (hl_evidence_file_commit (file, damaged) == 0);
    hl_evidence_file_destroy (&file);
    assert (hl_evidence_outgoing (evidence, damaged, again_out, &out_bytes) == 1);
    assert (hl_evidence_outgoing (evidence,
        "sha256:0000000000000000000000000000000000000000000000000000000000000000", again_out, &out_bytes) == 1);
    assert (hl_evidence_outgoing (evidence, "sha256:nope", again_out, &out_bytes) == 1);

    //  In pieces: written in order, checked, then visible under the ref
    unsigned char big [100];
    memcpy (big, "\x89PNG\r\n\x1a\n", 8);
    for (size_t i = 8; i < sizeof big; i++)
        big [i] = (unsigned char) i;
    crypto_hash_sha256 (digest, big, sizeof big);
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    char big_ref [HL_EVIDENCE_REF_SIZE];
    snprintf (big_ref, sizeof big_ref, "sha256:%s", hex);
    assert (hl_evidence_piece_write (evidence, "w31002-a", 0, big, 40) == 0);
    assert (hl_evidence_piece_write (evidence, "w31002-a", 40, big + 40, 40) == 0);
    assert (hl_evidence_piece_write (evidence, "w31002-a", 40, big + 40, 40) == 0);    //  again: the same
    assert (!hl_evidence_has (evidence, big_ref));
    assert (hl_evidence_piece_write (evidence, "w31002-a", 80, big + 80, 20) == 0);
    assert (hl_evidence_piece_finish (evidence, "w31002-a", big_ref, sizeof big, &type) == 0);
    assert (streq (type, "image/png") && hl_evidence_has (evidence, big_ref));
    assert (hl_evidence_find (evidence, big_ref, path, sizeof path, &type, &bytes) == 0 && bytes == sizeof big);
    //  A PNG has nothing taken out: it leaves as it is
    assert (hl_evidence_outgoing (evidence, big_ref, again_out, &out_bytes) == 0
         && streq (again_out, big_ref) && out_bytes == sizeof big);
    assert (s_count_files (tmp) == 0);
    //  Offset 0 starts afresh: a stale temporary file does not count
    assert (hl_evidence_piece_write (evidence, "w31002-b", 0, big, 100) == 0);
    assert (hl_evidence_piece_write (evidence, "w31002-b", 0, big, 60) == 0);
    assert (hl_evidence_piece_finish (evidence, "w31002-b", big_ref, sizeof big, &type) == 1);
    assert (s_count_files (tmp) == 0);
    //  Another hash, a wrong size, a refused type: dropped, nothing kept
    big [50] ^= 1;
    assert (hl_evidence_piece_write (evidence, "w31002-c", 0, big, 100) == 0);
    assert (hl_evidence_piece_finish (evidence, "w31002-c", big_ref, sizeof big, &type) == 1);
    big [50] ^= 1;
    assert (hl_evidence_piece_write (evidence, "w31002-c", 0, big, 100) == 0);
    assert (hl_evidence_piece_finish (evidence, "w31002-c", big_ref, 99, &type) == 1);
    unsigned char elf [16] = "\x7F" "ELF";
    crypto_hash_sha256 (digest, elf, sizeof elf);
    sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
    char elf_ref [HL_EVIDENCE_REF_SIZE];
    snprintf (elf_ref, sizeof elf_ref, "sha256:%s", hex);
    assert (hl_evidence_piece_write (evidence, "w31002-c", 0, elf, sizeof elf) == 0);
    assert (hl_evidence_piece_finish (evidence, "w31002-c", elf_ref, sizeof elf, &type) == 1);
    assert (!hl_evidence_has (evidence, elf_ref));
    assert (hl_evidence_piece_finish (evidence, "w31002-none", big_ref, sizeof big, &type) == 1);
    //  Bad names are refused; a given-up transfer is dropped by prefix
    assert (hl_evidence_piece_write (evidence, "../x", 0, big, 10) == -1);
    assert (hl_evidence_piece_write (evidence, "", 0, big, 10) == -1);
    assert (hl_evidence_piece_write (evidence, "w31002-d", 0, big, 10) == 0);
    assert (hl_evidence_piece_write (evidence, "w31003-d", 0, big, 10) == 0);
    assert (hl_evidence_piece_drop (evidence, "w31002-") == 1);
    assert (s_count_files (tmp) == 1);
    assert (hl_evidence_piece_drop (evidence, "w31003-") == 1);
    assert (s_count_files (tmp) == 0);

    //  Release: a file written after after_ms stays (an upload again of
    //  the same bytes), an older one goes, nothing left aside in tmp/
    {
        hl_evidence_file_t *file = hl_evidence_file_new (evidence, 1024);
        assert (file);
        const unsigned char png [] = "\x89PNG\r\n\x1a\n release";
        assert (hl_evidence_file_write (file, png, sizeof png) == 0);
        char ref [HL_EVIDENCE_REF_SIZE];
        assert (hl_evidence_file_commit (file, ref) == 0);
        hl_evidence_file_destroy (&file);
        char path [PATH_MAX];
        snprintf (path, sizeof path, "%s/%.2s/%s", hl_evidence_dir (evidence), ref + 7, ref + 9);
        int64_t written = s_mtime_ms (path);
        assert (written > 0);
        assert (hl_evidence_release (evidence, ref, written - 1) == 1);
        assert (hl_evidence_has (evidence, ref));
        assert (s_count_files (tmp) == 0);
        //  An hour old, released as of a minute ago: deleted
        struct timeval old [2] = { { (time_t) (written / 1000 - 3600), 0 },
                                   { (time_t) (written / 1000 - 3600), 0 } };
        assert (utimes (path, old) == 0);
        assert (hl_evidence_release (evidence, ref, written - 60000) == 0);
        assert (!hl_evidence_has (evidence, ref));
        assert (hl_evidence_release (evidence, ref, written) == 0);     //  not there
        assert (hl_evidence_release (evidence, "sha256:nope", written) == 0);
        assert (s_count_files (tmp) == 0);

        //  The sweep: a release that stopped after moving the file aside
        //  (as a crash leaves it) is put back with its mtime, judged again
        //  by the next release; one whose file was committed again meanwhile
        //  only goes from tmp/, the newer file kept. A .part not written
        //  for the age goes, a fresh one (being written) and a transfer's
        //  .piece stay
        file = hl_evidence_file_new (evidence, 1024);
        assert (hl_evidence_file_write (file, png, sizeof png) == 0);
        assert (hl_evidence_file_commit (file, ref) == 0);
        hl_evidence_file_destroy (&file);
        assert (utimes (path, old) == 0);
        char aside [PATH_MAX * 2];
        snprintf (aside, sizeof aside, "%s/%s.release", tmp, ref + 7);
        assert (rename (path, aside) == 0);
        hl_evidence_file_t *fresh = hl_evidence_file_new (evidence, 1024);
        assert (fresh && hl_evidence_file_write (fresh, png, 4) == 0);
        hl_evidence_file_t *stale = hl_evidence_file_new (evidence, 1024);
        assert (stale && hl_evidence_file_write (stale, png, 4) == 0);
        char stale_path [PATH_MAX];
        snprintf (stale_path, sizeof stale_path, "%s", stale->path);
        assert (utimes (stale_path, old) == 0);
        assert (hl_evidence_piece_write (evidence, "w31001-e", 0, png, 4) == 0);
        char piece [PATH_MAX + 32];
        snprintf (piece, sizeof piece, "%s/w31001-e.piece", tmp);
        assert (utimes (piece, old) == 0);
        assert (s_count_files (tmp) == 4);
        assert (hl_evidence_sweep (evidence, 60000) == 2);
        assert (hl_evidence_has (evidence, ref) && s_mtime_ms (path) / 1000 == written / 1000 - 3600);
        assert (s_count_files (tmp) == 2 && access (stale_path, F_OK) && access (piece, F_OK) == 0);
        assert (hl_evidence_sweep (evidence, 60000) == 0);
        assert (hl_evidence_release (evidence, ref, written - 60000) == 0);
        //  Aside again, and committed again meanwhile: the newer file stays
        file = hl_evidence_file_new (evidence, 1024);
        assert (hl_evidence_file_write (file, png, sizeof png) == 0);
        assert (hl_evidence_file_commit (file, ref) == 0);
        hl_evidence_file_destroy (&file);
        assert (utimes (path, old) == 0);
        assert (rename (path, aside) == 0);
        file = hl_evidence_file_new (evidence, 1024);
        assert (hl_evidence_file_write (file, png, sizeof png) == 0);
        assert (hl_evidence_file_commit (file, ref) == 0);
        hl_evidence_file_destroy (&file);
        int64_t newer = s_mtime_ms (path);
        assert (newer >= written);
        assert (hl_evidence_sweep (evidence, 60000) == 1);
        assert (s_mtime_ms (path) == newer && access (aside, F_OK));
        assert (hl_evidence_release (evidence, ref, written - 60000) == 1);
        hl_evidence_file_destroy (&stale);
        hl_evidence_file_destroy (&fresh);
        assert (hl_evidence_piece_drop (evidence, "w31001-") == 1);
        assert (s_count_files (tmp) == 0);
    }

    hl_evidence_destroy (&evidence);
    assert (!evidence);
    char cmd [PATH_MAX + 16];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd)) {}
    if (verbose)
        printf ("(%s) ", dir);
    printf ("OK\n");
}
