/*  hl_jpeg — a JPEG segment filter: the photo without the metadata that
 *  can identify a reporter (EXIF: GPS position, camera owner and serial;
 *  XMP; Photoshop/IPTC), the image itself untouched.
 *
 *  A JPEG is a list of segments (FF marker, then a 2-byte big-endian length
 *  that counts itself) up to the start of scan (FF DA), after which the
 *  compressed image runs to the end. The filter copies every segment except
 *  APP1 (FF E1: Exif and XMP) and APP13 (FF ED: Photoshop IRB/IPTC), then
 *  the scan and everything after it byte for byte. Nothing is decoded, so
 *  no pixel changes and no decoder bug is reachable.
 *
 *  Rules for callers:
 *  - A file that is not a well-formed JPEG up to its scan (a length that
 *    runs past the end, no start of scan, a marker where none may be) is
 *    refused (-1): a file we cannot filter is not shown.
 */
#ifndef HL_JPEG_H_INCLUDED
#define HL_JPEG_H_INCLUDED

//  Filter size bytes of in into *out (malloc'ed, caller frees) and
//  *out_size. 0, or -1 when in is not a JPEG it can filter (*out NULL).
int hl_jpeg_strip (const unsigned char *in, size_t size, unsigned char **out, size_t *out_size);

void hl_jpeg_test (bool verbose);
#endif
