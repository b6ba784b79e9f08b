/*  hl_areas — the wards' areas, at the city: which ward a point lies in,
 *  and the list of wards the city files reports for (the city's public
 *  form and Open311, services/web/API.md "Filing at a ward").
 *
 *  The text (config web/ward_areas names a file of it; without one, the
 *  two demo wards built in here, hl_areas_default):
 *
 *      # comment; blank lines are skipped
 *      31001 | Phường An Biên | 20.8700 106.6700, 20.8700 106.6900, 20.8520 106.6900, ...
 *      31002 | Phường Lê Chân | 20.8520 106.6700, ...
 *      31003 | Phường Hồ Nam |
 *
 *  One polygon a line: the ward's code (1-10 digits), its name, and a ring
 *  of at least 3 points, each "LAT LON" in decimal degrees (WGS84), comma
 *  separated; the ring closes itself (the first point need not repeat).
 *  A ward with several parts (an island) has several lines, with the same
 *  name. A line with no ring lists a ward chosen from the list only.
 *
 *  A point is in a ward when it is inside one of its polygons (even-odd
 *  rule, on latitude and longitude as plane coordinates: a ward is a few
 *  km across, where the error is far below a phone's GPS). A point inside
 *  two wards' polygons (a shared edge, an overlap in the data) is the
 *  first listed ward's. Each polygon keeps its bounding box, so a point is
 *  tested against the few polygons whose box holds it.
 *
 *  Rules for callers: the object is read-only once made, so threads may
 *  share it.
 */
#ifndef HL_AREAS_H_INCLUDED
#define HL_AREAS_H_INCLUDED

typedef struct _hl_areas_t hl_areas_t;

//  Parse text. NULL on the first bad line, with why in error (its line
//  number and what is wrong); nothing is kept then.
hl_areas_t *hl_areas_new (const char *text, char *error, size_t size);
//  The same from a file. NULL (error says why) if it cannot be read or
//  holds a bad line.
hl_areas_t *hl_areas_load (const char *path, char *error, size_t size);
//  The demo city's two wards (31001 An Biên, 31002 Lê Chân): approximate
//  rectangles around Hải Phòng's centre, for a city configured without
//  web/ward_areas. Never NULL.
hl_areas_t *hl_areas_default (void);
void hl_areas_destroy (hl_areas_t **self_p);

//  Wards listed, in the order of the text
size_t hl_areas_size (hl_areas_t *self);
//  The ward's name, or NULL for a code not listed
const char *hl_areas_name (hl_areas_t *self, const char *code);
//  The code of the ward the point lies in, or NULL (outside every area)
const char *hl_areas_find (hl_areas_t *self, double lat, double lon);
//  [{"code", "name", "area": bool}], in the order of the text (caller decrefs)
json_t *hl_areas_json (hl_areas_t *self);
//  A coordinate as a plain decimal number ("20.86", "-106.5"; no exponent,
//  no "nan") within [-limit, limit] into out: 0, or -1. The areas' text and
//  Open311's lat/long are read alike.
int hl_areas_degree (const char *text, double limit, double *out);

void hl_areas_test (bool verbose);
#endif
