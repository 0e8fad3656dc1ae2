// RFC 4918 §10.4: the If request header.

package davserver

type ifHeader struct{ lists []ifList }

type ifList struct {
	tag   string
	conds []ifCond
}

type ifCond struct {
	not   bool
	token string
	etag  string
}

type ifResource struct {
	exists  bool
	etag    string
	hasLock func(token string) bool
}

func parseIf(s string) (ifHeader, error) { return ifHeader{}, errIfSyntax }

func (h ifHeader) eval(resource func(tag string) (ifResource, bool)) bool { return false }

func (h ifHeader) tokens() []string { return nil }

func (h ifHeader) tags() []string { return nil }

func tagPath(tag, host string) (path string, ok bool) { return "", false }
