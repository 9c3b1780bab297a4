/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fix_metabase: PEEXCH50's SMTP event-sink bindings in the IIS 6 metabase (MetaBase.xml).
 *
 * The metabase is flat: one element per key under <MBProperty>, its path in
 * the Location attribute.  SMTP sink bindings are the keys
 *   /LM/SmtpSvc/<N>/EventManager/EventTypes/{event}/Bindings/{binding}[/...]
 * and a binding is PEEXCH50's when the ID-0 value of its SinkClass key (an
 * attribute, or a <Custom ID="0" Value=...> child: both are accepted) is one
 * of the DLL's ProgIDs or {CLSID}s.
 *
 * libxml2 only locates elements (SAX, byte offsets, no network, no DTD, no
 * entity substitution); the new file is the old bytes with those elements'
 * spans cut out, so every other byte (BOM, CRLF, tabs, multi-line attribute
 * values, entity references, comments) stays as it was.  The result is parsed
 * again and must hold exactly the old elements minus the removed ones. */
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdio.h>

#include "fix/fixes.h"

#define MB_ROOT "configuration"
#define MB_NS_PREFIX "urn:microsoft-catalog:XML_Metabase_V"
#define KEY_DEPTH 3 /* configuration > MBProperty > key */

/* One metabase key element. */
struct mbkey {
	char *name;	    /* element name: IIsSmtpServer, IIsConfigObject, ... */
	char *location;	    /* Location attribute, or NULL */
	size_t start;	    /* offset of its '<' */
	size_t end;	    /* offset just past its end tag or "/>" */
	struct strlist id0; /* candidate ID-0 values (see file comment) */
};

struct mbscan {
	const struct buf *in;
	xmlParserCtxtPtr ctxt;
	struct mbkey *keys;
	size_t n;
	int depth;
	int in_key;    /* the key being parsed is keys[n - 1] */
	char *problem; /* first structural problem found, for the error */
};

static void scan_free(struct mbscan *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->keys[i].name);
		free(s->keys[i].location);
		strlist_free(&s->keys[i].id0);
	}
	free(s->keys);
	free(s->problem);
}

static void problem(struct mbscan *s, char *msg)
{
	if (!s->problem)
		s->problem = msg;
	else
		free(msg);
	xmlStopParser(s->ctxt);
}

static char *attr_value(const xmlChar **a)
{
	/* a: localname, prefix, URI, value, end */
	size_t len = (size_t)(a[4] - a[3]);
	char *v = xmalloc(len + 1);
	memcpy(v, a[3], len);
	v[len] = 0;
	return v;
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
		     int nns, const xmlChar **ns, int nattr, int ndef, const xmlChar **attrs)
{
	struct mbscan *s = ctx;
	(void)prefix, (void)nns, (void)ns, (void)ndef;
	s->depth++;
	if (s->depth == 1) {
		if (!STREQ((const char *)local, MB_ROOT) || !uri ||
		    strncmp((const char *)uri, MB_NS_PREFIX, strlen(MB_NS_PREFIX)) != 0)
			problem(s, xasprintf("the root element is not <%s xmlns=\"%s...\">: not an "
					     "IIS 6 metabase",
					     MB_ROOT, MB_NS_PREFIX));
		return;
	}
	if (s->depth == KEY_DEPTH) {
		/* the parser stands at the end of the start tag; its '<' is the
		 * last one before (an attribute value cannot hold a raw '<') */
		size_t at = (size_t)xmlByteConsumed(s->ctxt);
		while (at > 0 && at <= s->in->len && s->in->p[at - 1] != '<')
			at--;
		if (at == 0 || at > s->in->len) {
			problem(s, xasprintf("cannot find where <%s> starts", local));
			return;
		}
		s->keys = xrealloc(s->keys, (s->n + 1) * sizeof *s->keys);
		struct mbkey *k = &s->keys[s->n++];
		*k = (struct mbkey){.name = xstrdup((const char *)local), .start = at - 1};
		for (int i = 0; i < nattr; i++) {
			const xmlChar **a = attrs + 5 * i;
			if (STREQ((const char *)a[0], "Location"))
				k->location = attr_value(a);
			else
				strlist_add(&k->id0, attr_value(a));
		}
		s->in_key = 1;
		return;
	}
	if (s->depth == KEY_DEPTH + 1 && s->in_key && STREQ((const char *)local, "Custom")) {
		char *id = NULL, *value = NULL;
		for (int i = 0; i < nattr; i++) {
			const xmlChar **a = attrs + 5 * i;
			if (STREQ((const char *)a[0], "ID"))
				id = attr_value(a);
			else if (STREQ((const char *)a[0], "Value"))
				value = attr_value(a);
		}
		if (id && value && STREQ(id, "0")) {
			strlist_add(&s->keys[s->n - 1].id0, value);
			value = NULL;
		}
		free(id);
		free(value);
	}
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	struct mbscan *s = ctx;
	(void)prefix, (void)uri;
	if (s->depth == KEY_DEPTH && s->in_key) {
		struct mbkey *k = &s->keys[s->n - 1];
		k->end = (size_t)xmlByteConsumed(s->ctxt);
		size_t nl = strlen((const char *)local);
		const uint8_t *p = s->in->p;
		if (k->end > s->in->len || k->end <= k->start || p[k->end - 1] != '>' ||
		    k->start + 1 + nl > s->in->len || memcmp(p + k->start + 1, local, nl) != 0)
			problem(s, xasprintf("cannot locate the bytes of <%s Location=\"%s\">",
					     local, k->location ? k->location : ""));
		s->in_key = 0;
	}
	s->depth--;
}

static void on_error(void *ctx, const char *msg, ...)
{
	(void)ctx, (void)msg; /* reported from ctxt->lastError after parsing */
}

/* Lists the key elements of a metabase with their byte spans. */
static int scan(const char *path, const struct buf *in, struct mbscan *s, struct err *e)
{
	memset(s, 0, sizeof *s);
	s->in = in;
	/* A real MetaBase.xml has no DTD: refusing one outright keeps external
	 * entities, external DTDs and entity expansion out of reach. */
	static const char *const banned[] = {"<!DOCTYPE", "<!ENTITY"};
	for (size_t i = 0; i < ARRAY_SIZE(banned); i++)
		if (memmem(in->p, in->len, banned[i], strlen(banned[i])))
			return fail(e, "bad-metabase",
				    "%s: holds a %s declaration, which a real MetaBase.xml never "
				    "has; refusing to parse it",
				    path, banned[i]);
	if (in->len > INT32_MAX)
		return fail(e, "too-large", "%s: too large", path);
	xmlSAXHandler sax;
	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = on_start;
	sax.endElementNs = on_end;
	sax.error = on_error;
	sax.warning = on_error;
	s->ctxt = xmlCreateMemoryParserCtxt((const char *)in->p, (int)in->len);
	if (!s->ctxt)
		return fail(e, "internal", "%s: cannot create an XML parser", path);
	xmlSAXHandlerPtr old = s->ctxt->sax;
	s->ctxt->sax = &sax;
	s->ctxt->userData = s;
	xmlCtxtUseOptions(s->ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlParseDocument(s->ctxt);
	int wellformed = s->ctxt->wellFormed;
	xmlErrorPtr xe = xmlCtxtGetLastError(s->ctxt);
	char *why = xe && xe->message ? xasprintf("line %d: %s", xe->line, xe->message) : NULL;
	if (why && why[strlen(why) - 1] == '\n')
		why[strlen(why) - 1] = 0;
	s->ctxt->sax = old;
	xmlFreeParserCtxt(s->ctxt);
	s->ctxt = NULL;
	int r = 0;
	if (s->problem)
		r = fail(e, "bad-metabase", "%s: %s", path, s->problem);
	else if (!wellformed)
		r = fail(e, "bad-metabase",
			 "%s: is not well-formed XML (%s); IIS would not start with it either. "
			 "Restore it from the History folder beside it",
			 path, why ? why : "parse error");
	free(why);
	if (r == -1)
		scan_free(s);
	return r;
}

/* ---- bindings ---- */

static const struct {
	const char *guid, *name;
} event_types[] = {
    {"{F6628C8D-0D5E-11d2-AA68-00C04FA35B82}", "OnInboundCommand"},
    {"{F6628C8E-0D5E-11d2-AA68-00C04FA35B82}", "OnServerResponse"},
    {"{F6628C8F-0D5E-11d2-AA68-00C04FA35B82}", "OnSessionStart"},
    {"{F6628C90-0D5E-11d2-AA68-00C04FA35B82}", "OnMessageStart"},
    {"{F6628C91-0D5E-11d2-AA68-00C04FA35B82}", "OnPerRecipient"},
    {"{F6628C92-0D5E-11d2-AA68-00C04FA35B82}", "OnBeforeData"},
    {"{F6628C93-0D5E-11d2-AA68-00C04FA35B82}", "OnSessionEnd"},
    {"{FF3CAA23-00B9-11d2-9DFB-00C04FA322BA}", "OnTransportSubmission"},
};

static const char *event_name(const char *guid)
{
	for (size_t i = 0; i < ARRAY_SIZE(event_types); i++)
		if (STRCASEEQ(guid, event_types[i].guid))
			return event_types[i].name;
	return guid;
}

/* A binding's parts from a Location under it; 0 when it is not one. */
struct bindref {
	char *binding;	  /* /LM/SmtpSvc/N/EventManager/EventTypes/E/Bindings/B */
	char *instance;	  /* N */
	char *event;	  /* E */
	const char *rest; /* what follows the binding path ("" or "SinkClass", ...) */
};

static int parse_binding(const char *loc, struct bindref *b)
{
	static const char *const fixed[] = {"LM",	  "SmtpSvc", NULL,	 "EventManager",
					    "EventTypes", NULL,	     "Bindings", NULL};
	const char *p = loc, *part[8];
	size_t len[8];
	if (*p++ != '/')
		return 0;
	for (int i = 0; i < 8; i++) {
		const char *slash = strchr(p, '/');
		part[i] = p;
		len[i] = slash ? (size_t)(slash - p) : strlen(p);
		if (!len[i] || (fixed[i] && (len[i] != strlen(fixed[i]) ||
					     strncasecmp(p, fixed[i], len[i]) != 0)))
			return 0;
		if (!slash && i < 7)
			return 0;
		p = slash ? slash + 1 : p + len[i];
	}
	b->binding = strndup(loc, (size_t)(part[7] + len[7] - loc));
	b->instance = strndup(part[2], len[2]);
	b->event = strndup(part[5], len[5]);
	b->rest = part[7][len[7]] == '/' ? part[7] + len[7] + 1 : "";
	return 1;
}

static void bindref_free(struct bindref *b)
{
	free(b->binding);
	free(b->instance);
	free(b->event);
}

static int under(const char *loc, const char *binding)
{
	size_t n = strlen(binding);
	return strncasecmp(loc, binding, n) == 0 && (loc[n] == 0 || loc[n] == '/');
}

/* The first ID-0 value of binding/<sub>, or NULL. */
static const char *id0_of(const struct mbscan *s, const char *binding, const char *sub)
{
	CLEANUP_FREE char *want = xasprintf("%s/%s", binding, sub);
	for (size_t i = 0; i < s->n; i++)
		if (s->keys[i].location && STRCASEEQ(s->keys[i].location, want) && s->keys[i].id0.n)
			return s->keys[i].id0.v[0];
	return NULL;
}

/* Marks the keys of every binding whose SinkClass is one of cx's classes. */
static void find_bindings(const struct mbscan *s, const struct fixctx *cx, int *doomed,
			  struct changes *ch)
{
	for (size_t i = 0; i < s->n; i++) {
		struct bindref b;
		if (!s->keys[i].location || !parse_binding(s->keys[i].location, &b))
			continue;
		const char *cls = NULL;
		if (STRCASEEQ(b.rest, "SinkClass"))
			for (size_t j = 0; j < s->keys[i].id0.n && !cls; j++)
				if (fixctx_has_class(cx, s->keys[i].id0.v[j]))
					cls = s->keys[i].id0.v[j];
		int seen = 0;
		for (size_t j = 0; cls && j < ch->n; j++)
			seen |= STRCASEEQ(ch->v[j].key, b.binding);
		if (cls && !seen) {
			const char *dn = id0_of(s, b.binding, "DisplayName");
			struct change *c = changes_add(ch, "remove-binding", xstrdup(b.binding),
						       dn ? xstrdup(dn) : NULL, xstrdup(cls), NULL);
			c->instance = xstrdup(b.instance);
			c->event = xstrdup(event_name(b.event));
		}
		bindref_free(&b);
	}
	for (size_t i = 0; i < s->n; i++)
		for (size_t j = 0; s->keys[i].location && j < ch->n; j++)
			if (under(s->keys[i].location, ch->v[j].key))
				doomed[i] = 1;
}

/* ---- splicing ---- */

static int is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* A key's span, widened to its whole lines (leading indentation, trailing
 * line break) when nothing else shares them. */
static void line_span(const struct buf *in, const struct mbkey *k, size_t *a, size_t *b)
{
	size_t s = k->start, e = k->end;
	while (s > 0 && is_blank(in->p[s - 1]))
		s--;
	size_t t = e;
	while (t < in->len && is_blank(in->p[t]))
		t++;
	int line_start = s == 0 || in->p[s - 1] == '\n';
	if (line_start && t < in->len && in->p[t] == '\n') {
		*a = s, *b = t + 1;
	} else if (line_start && t + 1 < in->len && in->p[t] == '\r' && in->p[t + 1] == '\n') {
		*a = s, *b = t + 2;
	} else if (line_start && t == in->len) {
		*a = s, *b = t;
	} else {
		*a = k->start, *b = k->end;
	}
}

static void splice(const struct buf *in, const struct mbscan *s, const int *doomed, struct buf *out)
{
	out->p = xmalloc(in->len ? in->len : 1);
	out->len = 0;
	size_t from = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!doomed[i])
			continue;
		size_t a, b;
		line_span(in, &s->keys[i], &a, &b);
		if (a < from)
			a = from;
		memcpy(out->p + out->len, in->p + from, a - from);
		out->len += a - from;
		from = b > from ? b : from;
	}
	memcpy(out->p + out->len, in->p + from, in->len - from);
	out->len += in->len - from;
}

/* The new file must parse and hold exactly the old keys minus the removed
 * ones, in order, with the same names and Locations. */
static int check_result(const char *path, const struct mbscan *before, const int *doomed,
			const struct buf *out, struct err *e)
{
	struct mbscan after;
	CLEANUP_FREE char *name = xasprintf("%s (as it would be written)", path);
	if (scan(name, out, &after, e) == -1)
		return -1;
	size_t j = 0;
	int r = 0;
	for (size_t i = 0; i < before->n && r == 0; i++) {
		if (doomed[i])
			continue;
		const struct mbkey *a = &before->keys[i], *b = j < after.n ? &after.keys[j] : NULL;
		if (!b || !STREQ(a->name, b->name) ||
		    !STREQ(a->location ? a->location : "", b->location ? b->location : ""))
			r = fail(e, "verify-failed",
				 "%s: after removing the bindings, key %s would be missing or "
				 "moved; nothing was written",
				 path, a->location ? a->location : a->name);
		j++;
	}
	if (r == 0 && j != after.n)
		r = fail(e, "verify-failed", "%s: the edited file holds unexpected keys", path);
	scan_free(&after);
	return r;
}

int fix_metabase_plan(const char *path, const struct buf *in, const struct fixctx *cx,
		      struct changes *ch, struct buf *out, struct err *e)
{
	struct mbscan s;
	if (scan(path, in, &s, e) == -1)
		return -1;
	int *doomed = xcalloc(s.n, sizeof *doomed);
	find_bindings(&s, cx, doomed, ch);
	int r = 0;
	if (ch->n && out) {
		splice(in, &s, doomed, out);
		r = check_result(path, &s, doomed, out, e);
		if (r == -1)
			buf_free(out);
	}
	free(doomed);
	scan_free(&s);
	return r;
}
