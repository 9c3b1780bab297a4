/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libvirt: -d DOMAIN [-c URI], a domain's disks as targets (see libvirt.h). */
#include "cli/libvirt.h"
#include "disk/imgfmt.h"

#include <dlfcn.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdio.h>

/* The few calls nobounce makes, by their public names and signatures
 * (libvirt's pointers are opaque here). */
struct virt {
	void *lib;
	void *(*open_ro)(const char *uri);
	int (*close)(void *conn);
	void *(*lookup)(void *conn, const char *name);
	int (*active)(void *dom);
	char *(*xml)(void *dom, unsigned int flags);
	int (*free_dom)(void *dom);
	const char *(*last_error)(void);
	void (*set_error_func)(void *data, void (*handler)(void *data, void *error));
};

/* libvirt prints every error on stderr by default; nobounce says it once. */
static void quiet(void *data, void *error)
{
	(void)data, (void)error;
}

static int load(struct virt *v, struct err *e)
{
	v->lib = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!v->lib)
		return fail(e, "unsupported-target",
			    "-d needs libvirt's library, which is not installed (%s). Install "
			    "it (apt-get install libvirt0), or give the domain's disk images "
			    "themselves",
			    dlerror());
	struct {
		const char *name;
		void **slot;
	} syms[] = {{"virConnectOpenReadOnly", (void **)&v->open_ro},
		    {"virConnectClose", (void **)&v->close},
		    {"virDomainLookupByName", (void **)&v->lookup},
		    {"virDomainIsActive", (void **)&v->active},
		    {"virDomainGetXMLDesc", (void **)&v->xml},
		    {"virDomainFree", (void **)&v->free_dom},
		    {"virGetLastErrorMessage", (void **)&v->last_error},
		    {"virSetErrorFunc", (void **)&v->set_error_func}};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++)
		if (!(*syms[i].slot = dlsym(v->lib, syms[i].name)))
			return fail(e, "unsupported-target", "libvirt's library has no %s",
				    syms[i].name);
	return 0;
}

static char *attr(xmlNodePtr n, const char *child, const char *name)
{
	for (xmlNodePtr c = n ? n->children : NULL; child && c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && STREQ((const char *)c->name, child)) {
			n = c;
			child = NULL;
		}
	if (child || !n)
		return NULL;
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *s = v ? xstrdup((const char *)v) : NULL;
	xmlFree(v);
	return s;
}

/* The disks of a domain's XML: each <disk device="disk"> with a file or
 * block source, and its driver's format. */
static int disks_of(const char *domain, const char *xml, struct strlist *paths,
		    struct strlist *formats, struct err *e)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	if (!doc)
		return fail(e, "unsupported-target", "domain %s: libvirt's XML cannot be read",
			    domain);
	xmlXPathContextPtr cx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr res =
	    cx ? xmlXPathEvalExpression((const xmlChar *)"/domain/devices/disk", cx) : NULL;
	int r = 0;
	for (int i = 0; r == 0 && res && res->nodesetval && i < res->nodesetval->nodeNr; i++) {
		xmlNodePtr d = res->nodesetval->nodeTab[i];
		CLEANUP_FREE char *device = attr(d, NULL, "device");
		CLEANUP_FREE char *type = attr(d, NULL, "type");
		CLEANUP_FREE char *target = attr(d, "target", "dev");
		if (device && !STREQ(device, "disk"))
			continue; /* cdroms and floppies hold no Windows to fix */
		char *src = type && STREQ(type, "block")   ? attr(d, "source", "dev")
			    : !type || STREQ(type, "file") ? attr(d, "source", "file")
							   : NULL;
		CLEANUP_FREE char *fmt = attr(d, "driver", "type");
		if (!src && type && !STREQ(type, "file") && !STREQ(type, "block")) {
			r = fail(e, "unsupported-target",
				 "domain %s: disk %s is a %s disk; give it to nobounce as an NBD "
				 "URI or an image file instead",
				 domain, target ? target : "?", type);
			break;
		}
		if (!src)
			continue; /* an empty drive */
		if (fmt && !imgfmt_known(fmt)) {
			r = fail(e, "unsupported-target",
				 "domain %s: disk %s (%s) is in format %s, which nobounce does "
				 "not open",
				 domain, target ? target : "?", src, fmt);
			free(src);
			break;
		}
		strlist_add(paths, src);
		strlist_add(formats, xstrdup(fmt ? fmt : ""));
	}
	if (r == 0 && !paths->n)
		r = fail(e, "no-windows", "domain %s has no disk nobounce can open", domain);
	xmlXPathFreeObject(res);
	xmlXPathFreeContext(cx);
	xmlFreeDoc(doc);
	return r;
}

int libvirt_disks(const char *uri, const char *domain, struct strlist *paths,
		  struct strlist *formats, struct err *e)
{
	struct virt v = {0};
	if (load(&v, e) == -1) {
		if (v.lib)
			dlclose(v.lib);
		return -1;
	}
	v.set_error_func(NULL, quiet);
	void *conn = v.open_ro(uri);
	void *dom = conn ? v.lookup(conn, domain) : NULL;
	int r = 0;
	if (!conn || !dom) {
		const char *why = v.last_error();
		r = fail(e, "not-found", "%s %s: %s", conn ? "domain" : "libvirt connection",
			 conn ? domain : (uri ? uri : "(default)"), why ? why : "not found");
	} else {
		int active = v.active(dom);
		char *xml = active == 0 ? v.xml(dom, 0) : NULL;
		if (active == 1)
			r = fail(e, "in-use",
				 "domain %s is running: its disks are in use. Shut it down first "
				 "(virsh shutdown %s); nothing was written",
				 domain, domain);
		else if (!xml)
			r = fail(e, "io", "domain %s: libvirt says: %s", domain,
				 v.last_error() ? v.last_error() : "no XML");
		else
			r = disks_of(domain, xml, paths, formats, e);
		free(xml);
	}
	if (dom)
		v.free_dom(dom);
	if (conn)
		v.close(conn);
	dlclose(v.lib);
	return r;
}
