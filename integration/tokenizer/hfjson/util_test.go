package hfjson

import (
	"fmt"
	"strconv"
	"strings"
)

func itoa(n int) string { return strconv.Itoa(n) }

func quote(fn string, args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strconv.Quote(a)
	}
	return fn + "(" + strings.Join(q, ", ") + ")"
}

func fmtInts(ids, types []int) string { return fmt.Sprint(ids, " types ", types) }
