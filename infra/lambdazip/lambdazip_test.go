package lambdazip

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"
)

func TestPackageIsReproducible(t *testing.T) {
	bin := bytes.Repeat([]byte("\x7fELF not really a binary "), 4096)
	a, err := Package(bin)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Package(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two packages of the same bootstrap differ")
	}
	if c, _ := Package(append(bin, '!')); bytes.Equal(a, c) {
		t.Fatal("packages of different bootstraps are equal")
	}

	zr, err := zip.NewReader(bytes.NewReader(a), int64(len(a)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("%d entries, want 1", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" || f.Mode().Perm() != 0o755 || !f.Modified.Equal(Epoch) {
		t.Errorf("entry %q mode %v modified %v", f.Name, f.Mode(), f.Modified)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, bin) {
		t.Error("the entry is not the bootstrap")
	}
}
