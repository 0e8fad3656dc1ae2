package rfc4918

import "testing"

// TestOwnerText: §14.17's owner as text, for the lock page, the listing and the CLI.
func TestOwnerText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"bob", "bob"},
		{`<D:href xmlns:D="DAV:">mailto:alice@example.org</D:href>`, "mailto:alice@example.org"},
		{`<href xmlns="DAV:">HOST\user</href>`, `HOST\user`},
		{"<a>one</a> <b>two</b>", "one two"},
		{"<a xmlns=\"x:\">Ann\n  Smith <b xmlns=\"x:\">ext.</b></a>", "Ann Smith ext."},
		{"&lt;script&gt;", "<script>"},
		{"Tom &amp; Jerry", "Tom & Jerry"},
		{"<![CDATA[<img src=x>]]>", "<img src=x>"},
		{"<unclosed>text", "<unclosed>text"},
		{"a < b  <c>", "a < b <c>"},
		{"<a>x</b>", "<a>x</b>"},
	} {
		if got := OwnerText(c.in); got != c.want {
			t.Errorf("OwnerText(%q): got %q, want %q", c.in, got, c.want)
		}
	}
}
