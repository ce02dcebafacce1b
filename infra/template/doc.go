// Package template holds the checks of template.yaml that `make test` runs:
// the SAM template is parsed with goformation, intrinsic functions kept as
// references, and compared with what the code and the other tools rely on —
// each function's folder and build target, the routes the local runner
// serves and the dashboard calls, the IAM grants listed in
// functions/permissions.json, the table pkg/dynamo creates, the identity
// setup the dashboard's config.json describes, and the absence of circular
// dependencies. It has no code of its own; everything is in its tests.
package template
