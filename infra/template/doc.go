// Package template reads template.yaml, the SAM template that deploys
// Gatehouse, so that whatever runs the system outside AWS learns what is
// deployed from the one file that deploys it, through one parser: the local
// runner its routes (Template.Routes) and the headers it serves the
// dashboard with (Template.DashboardHeaders), the Runtime Interface Emulator tests
// and the cold-start benchmark its functions with their environment
// (Template.Functions).
//
// The template is parsed with goformation, intrinsic functions kept as
// references rather than resolved (Decode, Ref, GetAtt, Sub read them), so
// a property goformation does not know fails the parse instead of being
// ignored.
//
// Its tests are the checks of template.yaml that `make test` runs: they
// compare the template with what the code and the other tools rely on —
// each function's folder and build target, the routes the local runner
// serves and the dashboard calls, the IAM grants listed in
// functions/permissions.json, the table pkg/dynamo creates, the identity
// setup the dashboard's config.json describes, the dashboard's
// Content-Security-Policy, and the absence of circular dependencies.
package template
