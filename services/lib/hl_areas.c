/*  hl_areas — the wards' areas at the city. See hl_areas.h.  */
#include "hotline.h"
#include "hl_areas.h"
#include <math.h>

#define S_MAX_NAME      200         //  characters of a ward's name
#define S_MAX_POINTS    100000      //  points of one ring

typedef struct {
    double lat, lon;
} s_point_t;

typedef struct {
    size_t ward;                    //  index into wards
    s_point_t *points;
    size_t count;
    double min_lat, max_lat, min_lon, max_lon;
} s_polygon_t;

typedef struct {
    char code [12];
    char *name;
    bool area;                      //  has at least one polygon
} s_ward_t;

struct _hl_areas_t {
    s_ward_t *wards;
    size_t n_wards;
    s_polygon_t *polygons;
    size_t n_polygons;
};

//  The demo city's wards. Approximate: rectangles around the centre of Hải
//  Phòng (the map's default centre, 20.86 106.68, is in An Biên); replace
//  them with the surveyed boundaries through web/ward_areas.
static const char s_default [] =
    "31001 | Phường An Biên | 20.8700 106.6700, 20.8700 106.6900, 20.8520 106.6900, 20.8520 106.6700\n"
    "31002 | Phường Lê Chân | 20.8520 106.6700, 20.8520 106.6900, 20.8350 106.6900, 20.8350 106.6700\n";

static char *
s_trim (char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    char *end = text + strlen (text);
    while (end > text && (end [-1] == ' ' || end [-1] == '\t' || end [-1] == '\r'))
        *--end = 0;
    return text;
}

int
hl_areas_degree (const char *text, double limit, double *out)
{
    char *end;
    errno = 0;
    *out = strtod (text, &end);
    if (end == text || *end || errno || !isfinite (*out) || *out < -limit || *out > limit
    ||  strspn (text, "+-0123456789.") != strlen (text))
        return -1;
    return 0;
}

//  The ring "LAT LON, LAT LON, ..." into polygon: 0, or -1 with why
static int
s_ring (char *text, s_polygon_t *polygon, char *why, size_t size)
{
    size_t allocated = 0;
    char *save = NULL;
    for (char *pair = strtok_r (text, ",", &save); pair; pair = strtok_r (NULL, ",", &save)) {
        pair = s_trim (pair);
        char *space = strpbrk (pair, " \t");
        if (!space) {
            snprintf (why, size, "'%.40s' is not \"LAT LON\"", pair);
            return -1;
        }
        *space = 0;
        s_point_t point;
        if (hl_areas_degree (pair, 90, &point.lat)
        ||  hl_areas_degree (s_trim (space + 1), 180, &point.lon)) {
            snprintf (why, size, "'%.20s %.20s' is not \"LAT LON\" in decimal degrees", pair, s_trim (space + 1));
            return -1;
        }
        if (polygon->count == S_MAX_POINTS) {
            snprintf (why, size, "more than %d points in one ring", S_MAX_POINTS);
            return -1;
        }
        if (polygon->count == allocated) {
            allocated = allocated? allocated * 2: 16;
            polygon->points = (s_point_t *) hl_realloc (polygon->points, allocated * sizeof (s_point_t));
        }
        polygon->points [polygon->count++] = point;
    }
    if (polygon->count < 3) {
        snprintf (why, size, "a ring needs at least 3 points (\"LAT LON, LAT LON, LAT LON\")");
        return -1;
    }
    polygon->min_lat = polygon->max_lat = polygon->points [0].lat;
    polygon->min_lon = polygon->max_lon = polygon->points [0].lon;
    for (size_t i = 1; i < polygon->count; i++) {
        polygon->min_lat = fmin (polygon->min_lat, polygon->points [i].lat);
        polygon->max_lat = fmax (polygon->max_lat, polygon->points [i].lat);
        polygon->min_lon = fmin (polygon->min_lon, polygon->points [i].lon);
        polygon->max_lon = fmax (polygon->max_lon, polygon->points [i].lon);
    }
    return 0;
}

//  The ward of code, added if new: its index, or -1 (a name that differs
//  from the one the code was given before, in why)
static long
s_ward (hl_areas_t *self, const char *code, const char *name, char *why, size_t size)
{
    for (size_t i = 0; i < self->n_wards; i++)
        if (streq (self->wards [i].code, code)) {
            if (strneq (self->wards [i].name, name)) {
                snprintf (why, size, "ward %s was named '%.60s' before", code, self->wards [i].name);
                return -1;
            }
            return (long) i;
        }
    self->wards = (s_ward_t *) hl_realloc (self->wards, (self->n_wards + 1) * sizeof (s_ward_t));
    s_ward_t *ward = &self->wards [self->n_wards];
    memset (ward, 0, sizeof *ward);
    snprintf (ward->code, sizeof ward->code, "%s", code);
    ward->name = hl_strdup (name);
    return (long) self->n_wards++;
}

//  One line (not a comment, not blank): 0, or -1 with why
static int
s_line (hl_areas_t *self, char *line, char *why, size_t size)
{
    char *bar = strchr (line, '|');
    char *bar2 = bar? strchr (bar + 1, '|'): NULL;
    if (!bar2) {
        snprintf (why, size, "expected CODE | NAME | LAT LON, LAT LON, ...");
        return -1;
    }
    *bar = *bar2 = 0;
    const char *code = s_trim (line);
    const char *name = s_trim (bar + 1);
    char *ring = s_trim (bar2 + 1);
    size_t len = strlen (code);
    if (len == 0 || len > 10 || strspn (code, "0123456789") != len) {
        snprintf (why, size, "the ward code '%.20s' is not 1-10 digits", code);
        return -1;
    }
    const char *problem = hl_text_check (name, S_MAX_NAME);
    if (!*name || problem) {
        snprintf (why, size, "the name of ward %s %s", code, *name? problem: "is empty");
        return -1;
    }
    long ward = s_ward (self, code, name, why, size);
    if (ward < 0)
        return -1;
    if (!*ring)
        return 0;               //  listed, no area
    s_polygon_t polygon = { .ward = (size_t) ward };
    if (s_ring (ring, &polygon, why, size)) {
        free (polygon.points);
        return -1;
    }
    self->polygons = (s_polygon_t *) hl_realloc (self->polygons,
                                                 (self->n_polygons + 1) * sizeof (s_polygon_t));
    self->polygons [self->n_polygons++] = polygon;
    self->wards [ward].area = true;
    return 0;
}

hl_areas_t *
hl_areas_new (const char *text, char *error, size_t size)
{
    hl_areas_t *self = (hl_areas_t *) zmalloc (sizeof (hl_areas_t));
    char *copy = hl_strdup (text? text: "");
    //  strtok_r would skip blank lines and so miscount: walk by hand
    char *line = copy;
    int number = 0;
    while (line) {
        char *next = strchr (line, '\n');
        if (next)
            *next++ = 0;
        number++;
        char *hash = strchr (line, '#');
        if (hash)
            *hash = 0;
        char *content = s_trim (line);
        char why [200];
        if (*content && s_line (self, content, why, sizeof why)) {
            snprintf (error, size, "line %d: %s", number, why);
            free (copy);
            hl_areas_destroy (&self);
            return NULL;
        }
        line = next;
    }
    free (copy);
    return self;
}

hl_areas_t *
hl_areas_load (const char *path, char *error, size_t size)
{
    zchunk_t *chunk = path? zchunk_slurp (path, 16 * 1024 * 1024): NULL;
    if (!chunk) {
        snprintf (error, size, "cannot read %s", path? path: "(no file)");
        return NULL;
    }
    char *text = zchunk_strdup (chunk);
    zchunk_destroy (&chunk);
    char why [256];
    hl_areas_t *self = text? hl_areas_new (text, why, sizeof why): NULL;
    if (!self)
        snprintf (error, size, "%s: %s", path, text? why: "cannot read");
    zstr_free (&text);
    return self;
}

hl_areas_t *
hl_areas_default (void)
{
    char why [200];
    hl_areas_t *self = hl_areas_new (s_default, why, sizeof why);
    assert (self);              //  our own text
    return self;
}

void
hl_areas_destroy (hl_areas_t **self_p)
{
    assert (self_p);
    hl_areas_t *self = *self_p;
    if (self) {
        for (size_t i = 0; i < self->n_wards; i++)
            free (self->wards [i].name);
        for (size_t i = 0; i < self->n_polygons; i++)
            free (self->polygons [i].points);
        free (self->wards);
        free (self->polygons);
        free (self);
        *self_p = NULL;
    }
}

size_t
hl_areas_size (hl_areas_t *self)
{
    return self->n_wards;
}

const char *
hl_areas_name (hl_areas_t *self, const char *code)
{
    for (size_t i = 0; code && i < self->n_wards; i++)
        if (streq (self->wards [i].code, code))
            return self->wards [i].name;
    return NULL;
}

//  Even-odd rule: a ray from the point crosses the ring's edges an odd
//  number of times when the point is inside
static bool
s_inside (const s_polygon_t *polygon, double lat, double lon)
{
    if (lat < polygon->min_lat || lat > polygon->max_lat || lon < polygon->min_lon || lon > polygon->max_lon)
        return false;
    bool inside = false;
    const s_point_t *p = polygon->points;
    for (size_t i = 0, j = polygon->count - 1; i < polygon->count; j = i++)
        if ((p [i].lat > lat) != (p [j].lat > lat)
        &&  lon < (p [j].lon - p [i].lon) * (lat - p [i].lat) / (p [j].lat - p [i].lat) + p [i].lon)
            inside = !inside;
    return inside;
}

const char *
hl_areas_find (hl_areas_t *self, double lat, double lon)
{
    if (!isfinite (lat) || !isfinite (lon))
        return NULL;
    //  The first listed ward wins a point two wards' polygons hold
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < self->n_polygons; i++)
        if (self->polygons [i].ward < best && s_inside (&self->polygons [i], lat, lon))
            best = self->polygons [i].ward;
    return best == SIZE_MAX? NULL: self->wards [best].code;
}

json_t *
hl_areas_json (hl_areas_t *self)
{
    json_t *list = json_array ();
    for (size_t i = 0; i < self->n_wards; i++)
        json_array_append_new (list, json_pack ("{s:s, s:s, s:b}", "code", self->wards [i].code,
                                                "name", self->wards [i].name, "area", self->wards [i].area));
    return list;
}

void
hl_areas_test (bool verbose)
{
    printf (" * hl_areas: ");
    //  The demo wards: the map's centre is in An Biên, a point south of
    //  20.852 in Lê Chân, the shared edge is An Biên's (listed first)
    hl_areas_t *areas = hl_areas_default ();
    assert (hl_areas_size (areas) == 2);
    assert (streq (hl_areas_find (areas, 20.86, 106.68), "31001"));
    assert (streq (hl_areas_find (areas, 20.861, 106.681), "31001"));
    assert (streq (hl_areas_find (areas, 20.845, 106.68), "31002"));
    assert (streq (hl_areas_find (areas, 20.852, 106.68), "31001"));
    assert (hl_areas_find (areas, 21.03, 105.85) == NULL);         //  Hà Nội
    assert (hl_areas_find (areas, NAN, 106.68) == NULL);
    assert (streq (hl_areas_name (areas, "31002"), "Phường Lê Chân"));
    assert (hl_areas_name (areas, "99999") == NULL && hl_areas_name (areas, NULL) == NULL);
    json_t *json = hl_areas_json (areas);
    assert (json_array_size (json) == 2);
    assert (streq (json_string_value (json_object_get (json_array_get (json, 0), "code")), "31001"));
    json_decref (json);
    hl_areas_destroy (&areas);
    hl_areas_destroy (&areas);

    //  A concave ward (an L), two parts, a ward listed without an area,
    //  comments and blank lines
    char why [256];
    const char *text =
        "# the wards\n"
        "\n"
        "1 | Một | 0 0, 0 4, 1 4, 1 1, 4 1, 4 0   # an L\n"
        "1 | Một | 10 10, 10 11, 11 11\n"
        "2 | Hai |\n"
        "3 | Ba | 0 0, 0 10, 10 10, 10 0\n";
    areas = hl_areas_new (text, why, sizeof why);
    assert (areas);
    assert (hl_areas_size (areas) == 3);
    assert (streq (hl_areas_find (areas, 0.5, 3), "1"));        //  in the L's arm
    assert (streq (hl_areas_find (areas, 3, 3), "3"));          //  in the L's notch: ward 3
    assert (streq (hl_areas_find (areas, 10.2, 10.5), "1"));    //  the second part
    assert (hl_areas_find (areas, 10.9, 10.1) == NULL);         //  outside its triangle
    json = hl_areas_json (areas);
    assert (json_is_false (json_object_get (json_array_get (json, 1), "area")));
    json_decref (json);
    hl_areas_destroy (&areas);

    //  Bad lines: refused, naming the line
    const char *bad [] = {
        "1 Một 0 0, 0 1, 1 1",                  //  no bars
        "x | Một | 0 0, 0 1, 1 1",              //  not digits
        "12345678901 | Một | 0 0, 0 1, 1 1",    //  too long
        "1 |  | 0 0, 0 1, 1 1",                 //  no name
        "1 | Một | 0 0, 0 1",                   //  two points
        "1 | Một | 0 0, 0 1, 91 1",             //  latitude
        "1 | Một | 0 0, 0 1, 1 181",            //  longitude
        "1 | Một | 0 0, 0 1, 1e1 1",            //  not decimal
        "1 | Một | 0 0, 0 1, 1",                //  half a point
        "1 | Một | 0 0, 0 1, 1 1\n1 | Hai | 2 2, 2 3, 3 3",    //  renamed
        NULL };
    for (size_t i = 0; bad [i]; i++) {
        why [0] = 0;
        assert (hl_areas_new (bad [i], why, sizeof why) == NULL);
        assert (strncmp (why, "line ", 5) == 0);
    }
    assert (hl_areas_new ("\n# x\n1 | Một | 0 0, 0 1", why, sizeof why) == NULL);
    assert (strncmp (why, "line 3:", 7) == 0);
    assert (hl_areas_load ("/nonexistent/areas", why, sizeof why) == NULL && strstr (why, "cannot read"));
    if (verbose)
        printf ("(demo wards, concave, parts, bad lines) ");
    printf ("OK\n");
}
