/*  hl_jpeg — strip identifying metadata from a JPEG (see hl_jpeg.h)
 */
#include "hotline.h"
#include "hl_jpeg.h"

int
hl_jpeg_strip (const unsigned char *in, size_t size, unsigned char **out, size_t *out_size)
{
    *out = NULL;
    *out_size = 0;
    if (size < 4 || in [0] != 0xFF || in [1] != 0xD8)
        return -1;
    unsigned char *copy = (unsigned char *) zmalloc (size);
    copy [0] = 0xFF;
    copy [1] = 0xD8;
    size_t at = 2, len = 2;
    while (at < size) {
        if (in [at] != 0xFF)
            break;                          //  not a marker where one must be
        //  Fill bytes (FF FF ...) may precede a marker
        while (at < size && in [at] == 0xFF)
            at++;
        if (at >= size)
            break;
        unsigned char marker = in [at++];
        if (marker == 0x00 || marker == 0xD8 || marker == 0xD9 || (marker >= 0xD0 && marker <= 0xD7)
        ||  marker == 0x01)
            break;                          //  not before the scan
        if (at + 2 > size)
            break;
        size_t seglen = ((size_t) in [at] << 8) | in [at + 1];
        if (seglen < 2 || at + seglen > size)
            break;
        bool drop = marker == 0xE1 || marker == 0xED;
        if (!drop) {
            copy [len++] = 0xFF;
            copy [len++] = marker;
            memcpy (copy + len, in + at, seglen);
            len += seglen;
        }
        at += seglen;
        if (marker == 0xDA) {
            //  Start of scan: the rest is the image, copied as it is
            memcpy (copy + len, in + at, size - at);
            len += size - at;
            *out = copy;
            *out_size = len;
            return 0;
        }
    }
    free (copy);
    return -1;
}

void
hl_jpeg_test (bool verbose)
{
    printf (" * hl_jpeg: ");
    //  SOI, APP0 (JFIF), APP1 (Exif with "GPS"), APP13, DQT, SOS, data, EOI
    static const unsigned char photo [] = {
        0xFF, 0xD8,
        0xFF, 0xE0, 0x00, 0x07, 'J', 'F', 'I', 'F', 0x00,
        0xFF, 0xE1, 0x00, 0x0C, 'E', 'x', 'i', 'f', 0, 0, 'G', 'P', 'S', '!',
        0xFF, 0xED, 0x00, 0x06, 'O', 'w', 'n', 'r',
        0xFF, 0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02,
        0xFF, 0xDA, 0x00, 0x04, 0x00, 0x00,
        0x12, 0xFF, 0x00, 0x34, 0xE1, 0x56,
        0xFF, 0xD9
    };
    static const unsigned char clean [] = {
        0xFF, 0xD8,
        0xFF, 0xE0, 0x00, 0x07, 'J', 'F', 'I', 'F', 0x00,
        0xFF, 0xDB, 0x00, 0x04, 0x01, 0x02,
        0xFF, 0xDA, 0x00, 0x04, 0x00, 0x00,
        0x12, 0xFF, 0x00, 0x34, 0xE1, 0x56,
        0xFF, 0xD9
    };
    unsigned char *out;
    size_t out_size;
    assert (hl_jpeg_strip (photo, sizeof photo, &out, &out_size) == 0);
    assert (out_size == sizeof clean && memcmp (out, clean, out_size) == 0);
    assert (!memmem (out, out_size, "GPS", 3) && !memmem (out, out_size, "Ownr", 4));
    free (out);
    //  Already clean: unchanged
    assert (hl_jpeg_strip (clean, sizeof clean, &out, &out_size) == 0);
    assert (out_size == sizeof clean && memcmp (out, clean, out_size) == 0);
    free (out);
    //  Refused: not a JPEG, a length past the end, no scan, a truncated header
    assert (hl_jpeg_strip ((const unsigned char *) "\x89PNG\r\n\x1a\n", 8, &out, &out_size) == -1 && !out);
    unsigned char bad [sizeof photo];
    memcpy (bad, photo, sizeof photo);
    bad [14] = 0xFF;                        //  APP1's length runs past the end
    assert (hl_jpeg_strip (bad, sizeof bad, &out, &out_size) == -1);
    assert (hl_jpeg_strip (photo, 38, &out, &out_size) == -1);        //  cut before the scan
    assert (hl_jpeg_strip (photo, 3, &out, &out_size) == -1);
    memcpy (bad, photo, sizeof photo);
    bad [11] = 0x12;                        //  not a marker where one must be
    assert (hl_jpeg_strip (bad, sizeof bad, &out, &out_size) == -1);
    if (verbose)
        printf ("(APP1, APP13) ");
    printf ("OK\n");
}
