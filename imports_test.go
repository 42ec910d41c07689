package hrissync_test

import (
	"encoding/json"
	"io"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// The import rules of docs/design.md §3 ("Where things live"): which of the
// module's packages each package may import. A package not named here may
// import nothing of the module but the leaves. Tests of connectors and
// stores may not import the simulator or the examples: a fake clock is in
// clocktest.
var importRules = []struct {
	pkg   string   // a package, or a pattern ending in "/*"
	allow []string // module packages it may import besides the leaves
}{
	{"", []string{"store", "internal/keylock", "internal/workqueue"}},
	{"store", nil},
	{"store/internal/*", []string{"store"}},
	{"store/memory", []string{"store"}},
	{"store/sqlite", []string{"store", "store/internal/rowcodec"}},
	{"store/postgres", []string{"store", "store/internal/rowcodec"}},
	{"store/storetest", []string{"store"}},
	{"clocktest", []string{""}},
	{"connector/*", []string{"", "store"}},
	{"connector/sinktest", []string{"", "store", "store/memory", "connector/memory", "clocktest"}},
	{"connector/bamboohr", []string{"", "store", "connector/webhook", "connector/internal/httpapi"}},
	{"connector/merge", []string{"", "store", "connector/webhook", "connector/internal/httpapi"}},
	{"connector/internal/httpapi", nil},
	{"connector/bamboohr/bamboohrtest", nil},
	{"status", []string{"", "store"}},
	{"sim", []string{"", "store", "store/memory", "connector/memory", "clocktest"}},
	{"examples/*", []string{"*"}},
}

// leaves import nothing of the module; everyone may import them.
var leaves = []string{"hrtype", "cadence", "retry", "audit", "internal/strictjson"}

const module = "github.com/hrissync/hrissync"

func TestImportRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := relative(p.ImportPath)
		allowed := allowedFor(rel)
		for _, imp := range p.Imports {
			if dep, ours := strings.CutPrefix(imp+"/", module+"/"); ours || imp == module {
				dep = strings.TrimSuffix(dep, "/")
				if imp == module {
					dep = ""
				}
				if !permits(allowed, dep) {
					t.Errorf("%s imports %s: against the rules of docs/design.md §3", show(rel), show(dep))
				}
			}
		}
		// connector/scim's tests run the simulator through the SCIM sink.
		if (strings.HasPrefix(rel, "connector/") || strings.HasPrefix(rel, "store/")) && rel != "connector/scim" {
			for _, imp := range append(p.TestImports, p.XTestImports...) {
				dep := relative(imp)
				if dep == "sim" || strings.HasPrefix(dep, "examples/") {
					t.Errorf("tests of %s import %s: tests of a connector or store use clocktest, not the simulator", rel, dep)
				}
			}
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("checked %d packages; go list found too few", checked)
	}
}

func relative(importPath string) string {
	if importPath == module {
		return ""
	}
	if rel, ok := strings.CutPrefix(importPath, module+"/"); ok {
		return rel
	}
	return "(outside) " + importPath
}

// allowedFor returns the module packages rel may import: its rule's, or
// only the leaves.
func allowedFor(rel string) []string {
	allowed := slices.Clone(leaves)
	if rel == "audit" {
		// The log reads its lines as strictly as any outside JSON: a
		// line two parsers read apart is not one its chain vouches for.
		return []string{"internal/strictjson"}
	}
	if slices.Contains(leaves, rel) || strings.HasPrefix(rel, "internal/") {
		return nil // leaves and internal helpers import nothing of ours
	}
	best := ""
	var found []string
	for _, r := range importRules {
		if matches(r.pkg, rel) && len(r.pkg) >= len(best) {
			best, found = r.pkg, r.allow
		}
	}
	return append(allowed, found...)
}

func matches(pattern, rel string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/*"); ok {
		return path.Dir(rel) == dir
	}
	return pattern == rel
}

func permits(allowed []string, dep string) bool {
	for _, a := range allowed {
		if a == "*" || matches(a, dep) {
			return true
		}
	}
	return false
}

func show(rel string) string {
	if rel == "" {
		return "hrissync (the root)"
	}
	return rel
}
