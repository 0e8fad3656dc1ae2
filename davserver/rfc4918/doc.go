// Package rfc4918 is the grammar of RFC 4918 and nothing else: it parses the WebDAV request
// headers (If §10.4, Depth §10.2, Destination §10.3, Lock-Token §10.5, Overwrite §10.6, Timeout
// §10.7) and the LOCK body (DAV:lockinfo §14.11), checks request bodies against Namespaces in
// XML 1.0 (§8.2), and writes the XML lockdav answers with: DAV:activelock and lockdiscovery
// (§14.1, §15.8), supportedlock (§15.10), LOCK response bodies (§9.10.1), DAV:error (§16) and
// Multi-Status (§13). It does no I/O and knows no net/http: davserver turns what it returns into
// HTTP answers. Each parser has a fuzz target of its own in this package.
package rfc4918
