package template_test

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// iamRequest is the part of an IAM request context a Condition block reads:
// each condition key with its values. A single-valued key (kms:
// EncryptionContext:gatewayId, dynamodb:ReturnValues) has one value; a
// multivalued one (kms:EncryptionContextKeys, dynamodb:Attributes,
// dynamodb:LeadingKeys) any number. A key that is absent, or multivalued
// and empty, is not in the map: IAM treats both as missing.
type iamRequest map[string][]string

// conditionHolds evaluates a statement's Condition block against req as
// the IAM User Guide describes it ("Condition operators", "Conditions with
// multiple context keys or values"):
//
//   - operators AND, keys under one operator AND, a key's values OR
//     (NOR for a negated operator);
//   - a key missing from the request fails a positive operator and passes
//     a negated one (StringNotEquals, StringNotLike);
//   - …IfExists passes when the key is missing;
//   - Null "true" holds when the key is missing, "false" when present;
//   - ForAllValues: every request value must satisfy the operator, which
//     an empty or missing set does; ForAnyValue: at least one must, which
//     an empty or missing set does not.
//
// Only the string operators and Null are implemented: they are the only
// ones template.yaml uses. Anything else is an error, never a guess.
func conditionHolds(cond any, req iamRequest) (bool, error) {
	if cond == nil {
		return true, nil
	}
	block, ok := cond.(map[string]any)
	if !ok {
		return false, fmt.Errorf("condition %v is not an object", cond)
	}
	for op, keys := range block {
		byKey, ok := keys.(map[string]any)
		if !ok {
			return false, fmt.Errorf("%s: %v is not an object", op, keys)
		}
		for key, want := range byKey {
			holds, err := operatorHolds(op, req[key], stringList(want))
			if err != nil {
				return false, fmt.Errorf("%s %s: %w", op, key, err)
			}
			if !holds {
				return false, nil
			}
		}
	}
	return true, nil
}

func operatorHolds(op string, have, want []string) (bool, error) {
	qualifier, base, qualified := strings.Cut(op, ":")
	if !qualified {
		base, qualifier = op, ""
	}
	if base == "Null" {
		if qualifier != "" || len(want) != 1 || (want[0] != "true" && want[0] != "false") {
			return false, fmt.Errorf("Null takes one value, true or false, unqualified; got %v", want)
		}
		return (len(have) == 0) == (want[0] == "true"), nil
	}
	base, ifExists := strings.CutSuffix(base, "IfExists")
	var match func(value, pattern string) bool
	negated := false
	switch base {
	case "StringEquals":
		match = func(v, p string) bool { return v == p }
	case "StringNotEquals":
		match, negated = func(v, p string) bool { return v == p }, true
	case "StringLike":
		match = stringLike
	case "StringNotLike":
		match, negated = stringLike, true
	default:
		return false, fmt.Errorf("operator %s is not implemented here", op)
	}
	// one is the operator applied to a single request value.
	one := func(v string) bool {
		hit := slices.ContainsFunc(want, func(p string) bool { return match(v, p) })
		return hit != negated
	}
	switch qualifier {
	case "ForAllValues":
		for _, v := range have {
			if !one(v) {
				return false, nil
			}
		}
		return true, nil
	case "ForAnyValue":
		return slices.ContainsFunc(have, one), nil
	case "":
		switch {
		case len(have) == 0:
			return ifExists || negated, nil
		case len(have) > 1:
			return false, fmt.Errorf("%s applied to a multivalued key %v needs ForAllValues or ForAnyValue", op, have)
		}
		return one(have[0]), nil
	}
	return false, fmt.Errorf("unknown qualifier %s", qualifier)
}

// stringLike is IAM's StringLike: * matches any run of characters, ? any
// one, everything else itself (path.Match's classes and escapes do not
// apply, and IAM's * crosses '/').
func stringLike(value, pattern string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return value == pattern
	}
	// Translate to path.Match with '/' out of the way and no classes.
	const slash = "\x00"
	esc := func(s string) string {
		r := strings.NewReplacer("/", slash, "[", `\[`, `\`, `\\`)
		return r.Replace(s)
	}
	v, p := strings.ReplaceAll(value, "/", slash), esc(pattern)
	ok, err := path.Match(p, v)
	return err == nil && ok
}

// iamStatement is one statement of a policy, as template.yaml writes it.
type iamStatement = map[string]any

// statementApplies reports whether s names action (exactly, or by a
// trailing-* pattern such as kms:GenerateDataKey*) and its Condition
// holds for req. Resources and principals are the caller's business.
func statementApplies(s iamStatement, action string, req iamRequest) (bool, error) {
	if !slices.ContainsFunc(stringList(s["Action"]), func(a string) bool { return stringLike(action, a) }) {
		return false, nil
	}
	return conditionHolds(s["Condition"], req)
}

// denied reports whether any Deny statement of statements applies.
func denied(statements []iamStatement, action string, req iamRequest) (bool, error) {
	for _, s := range statements {
		if s["Effect"] != "Deny" {
			continue
		}
		applies, err := statementApplies(s, action, req)
		if err != nil {
			return false, fmt.Errorf("statement %v: %w", s["Sid"], err)
		}
		if applies {
			return true, nil
		}
	}
	return false, nil
}

// allowedBy returns the Sid of the first Allow statement of statements
// that applies to action and req, or "" when none does (an implicit
// deny).
func allowedBy(statements []iamStatement, action string, req iamRequest) (string, error) {
	for _, s := range statements {
		if s["Effect"] != "Allow" {
			continue
		}
		applies, err := statementApplies(s, action, req)
		if err != nil {
			return "", fmt.Errorf("statement %v: %w", s["Sid"], err)
		}
		if applies {
			sid, _ := s["Sid"].(string)
			if sid == "" {
				sid = "(no Sid)"
			}
			return sid, nil
		}
	}
	return "", nil
}
