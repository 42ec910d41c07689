package audit

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TornReason is the Reason a recovered entry gives.
const TornReason = "torn final line after a crash"

// recoverTail cuts the torn final line off and records the cut in the
// chain. The recovered entries are written over the torn bytes first and
// the file cut after them second: a crash in between leaves the torn line,
// or the entries that record it (perhaps followed by the rest of the torn
// line, which the next OpenLog recovers in turn), never a cut unrecorded.
func (l *Log) recoverTail(s *scanned) error {
	t := s.torn
	var buf []byte
	for _, tenant := range t.chains(s, l.opts.Anchors) {
		after := l.chain.heads[tenant]
		e := l.own(tenant, after, ActionRecovered, &Recovery{Reason: TornReason, BytesDropped: t.size, File: filepath.Base(t.file)},
			fmt.Sprintf("%s: %d bytes cut off %s", TornReason, t.size, filepath.Base(t.file)))
		b, h, err := encode(e, after, l.chain.link)
		if err != nil {
			return err
		}
		l.chain.extend(tenant, after, h, b)
		l.ids[e.ID] = true
		buf = append(append(buf, b...), '\n')
	}
	f, err := os.OpenFile(t.file, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("audit: recovering %s: %w", t.file, err)
	}
	_, err = f.WriteAt(buf, t.offset)
	if err == nil {
		err = f.Truncate(t.offset + int64(len(buf)))
	}
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("audit: recovering %s: %w", t.file, err)
	}
	return l.writeHeadDurably()
}

// chains are the chains that record the cut of a torn line: the line's own
// tenant's when it got far enough to name it; otherwise every chain the log
// or the anchors know, since it could have been any of theirs; and with
// none known, the chain of tenant "".
func (t *tornLine) chains(s *scanned, anchors map[string]Head) []string {
	if t.named {
		return []string{t.tenant}
	}
	return orNone(tenants(s.chain.heads, anchors))
}

// own is one of the log's own entries, as the entry after `after` in
// tenant's chain.
func (l *Log) own(tenant string, after Head, action string, r *Recovery, summary string) Entry {
	now := l.opts.Now().UTC()
	return Entry{
		ID: fmt.Sprintf("log/%s/%d", tenant, after.Seq+1), Tenant: tenant, Action: action, Trigger: TriggerLog,
		SourceChanged: now, Applied: now, Outcome: action, Summary: summary, Recovery: r,
	}
}

// restart sets the refused files aside and starts each chain afresh in a
// new file, first with an entry that says why. Each chain continues after
// its Store anchor, so that the anchor stays in the chain (the engine's
// CheckAnchor holds and the Store's next acknowledgement moves it on), or,
// for a tenant without one, after its last entry that verified. Entries
// the old files held beyond the anchor were never acknowledged: the engine
// hands them over again.
func (l *Log) restart(s *scanned, why error) (*Log, error) {
	moved, err := setAside(l.path, s.files, l.opts.Now())
	if err != nil {
		return nil, err
	}
	l.chain, l.ids, l.rotated = newChain(), map[string]bool{}, 0
	if l.ck != nil { // the old chains' checkpoints went aside with their files
		l.ck = newCheckpointer(l.opts.Checkpoints)
	}
	if err := l.openActive(); err != nil {
		return nil, err
	}
	bases := restartBases(s, l.opts.Anchors)
	for _, tenant := range orNone(slices.Sorted(maps.Keys(bases))) {
		after := bases[tenant]
		r := &Recovery{Reason: l.opts.Restart, Anchor: after, Problem: why.Error()}
		if moved != "" {
			r.MovedTo = filepath.Base(moved)
		}
		e := l.own(tenant, after, ActionChainRestarted, r, fmt.Sprintf("chain restarted after sequence %d: %s", after.Seq, l.opts.Restart))
		if err := l.append(e, after); err != nil {
			l.f.Close()
			return nil, err
		}
	}
	if err := errors.Join(l.sync(), syncDir(l.path)); err != nil {
		l.f.Close()
		return nil, err
	}
	return l, nil
}

// restartBases are where each known chain continues after a restart: its
// anchor, else its last entry that verified.
func restartBases(s *scanned, anchors map[string]Head) map[string]Head {
	var fromHead map[string]Head
	if s.head != nil {
		fromHead = s.head.Tenants
	}
	bases := map[string]Head{}
	for _, tenant := range tenants(s.chain.heads, anchors, fromHead) {
		bases[tenant] = s.chain.heads[tenant]
		if a := anchors[tenant]; a.Seq > 0 {
			bases[tenant] = a
		}
	}
	return bases
}

// setAside renames a refused log's files and its head file to
// path.broken-<time>…, keeping them whole for whoever investigates: they
// remain a log of their own, which LogFiles and Check read under that name.
// It returns the new name, or "" when there was nothing to move.
func setAside(path string, files []string, now time.Time) (string, error) {
	head := path + ".head"
	_, err := os.Stat(head)
	hasHead := err == nil
	if len(files) == 0 && !hasHead {
		return "", nil
	}
	to := path + ".broken-" + now.UTC().Format("20060102T150405Z")
	for n := 2; taken(to); n++ {
		to = fmt.Sprintf("%s.broken-%s-%d", path, now.UTC().Format("20060102T150405Z"), n)
	}
	for _, f := range files {
		if err := os.Rename(f, to+strings.TrimPrefix(f, path)); err != nil {
			return "", fmt.Errorf("audit: setting the refused log aside: %w", err)
		}
	}
	if hasHead {
		if err := os.Rename(head, to+".head"); err != nil {
			return "", fmt.Errorf("audit: setting the refused log aside: %w", err)
		}
	}
	return to, syncDir(path)
}

// taken reports whether a log, or its head file, is already at path.
func taken(path string) bool {
	files, err := LogFiles(path)
	_, headErr := os.Stat(path + ".head")
	return err != nil || len(files) > 0 || headErr == nil
}

// tenants lists the tenants of several maps, sorted.
func tenants(ms ...map[string]Head) []string {
	set := map[string]bool{}
	for _, m := range ms {
		for t := range m {
			set[t] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// orNone is tenants, or the tenant "" when there are none, so that what the
// log does to itself is always recorded in some chain.
func orNone(tenants []string) []string {
	if len(tenants) == 0 {
		return []string{""}
	}
	return tenants
}
