#!/usr/bin/env bash
# What `make deploy` does after `sam build` and `sam deploy`, the part
# CloudFormation cannot do by itself (README "Deploy"):
#
#   1. On the first deployment, point the PublicApiUrl parameter at the
#      stack's own API (a function cannot reference its own HttpApi without
#      a cycle; Telegram webhooks are registered under that URL), by
#      deploying once more with that parameter.
#   2. Upload the dashboard (frontend/dist): hashed assets cached for a
#      year, everything else revalidated.
#   3. Write its /config.json: the stack's DashboardConfig output or, for an
#      external OIDC issuer (no such output), the file DASHBOARD_CONFIG names.
#   4. Invalidate CloudFront's copies, and print the dashboard's and the
#      API's URLs.
#
# The Makefile passes its variables through the environment:
#
#   SAM, AWS           the commands (default sam, aws); may carry arguments,
#                      e.g. AWS='aws --profile prod', split on blanks
#   SAM_ENV            the samconfig.toml environment (default: default)
#   STACK              the stack's name (default: gatehouse)
#   DASHBOARD_CONFIG   optional path of the dashboard's config.json
#
# Paths are relative to the current directory, the repository root when
# make runs it.
set -euo pipefail

read -r -a sam <<<"${SAM:-sam}"
read -r -a aws <<<"${AWS:-aws}"
SAM_ENV=${SAM_ENV:-default}
STACK=${STACK:-gatehouse}
DASHBOARD_CONFIG=${DASHBOARD_CONFIG:-}

# out and param print one output or parameter of the deployed stack ("None"
# when the stack has no such output, as the AWS CLI prints it).
out() {
  "${aws[@]}" cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
param() {
  "${aws[@]}" cloudformation describe-stacks --stack-name "$STACK" \
    --query "Stacks[0].Parameters[?ParameterKey=='$1'].ParameterValue" --output text
}

# With WebAcl=true the API is reached through its CloudFront distribution
# and web ACL (EdgeApiUrl); otherwise directly.
api=$(out EdgeApiUrl)
if [ -z "$api" ] || [ "$api" = None ]; then
  api=$(out ApiUrl)
fi
if [ -z "$(param PublicApiUrl)" ]; then
  echo "deploy: PublicApiUrl is empty; setting it to $api (Telegram webhooks are registered under it)"
  "${sam[@]}" deploy --config-env "$SAM_ENV" --stack-name "$STACK" --parameter-overrides "PublicApiUrl=$api"
fi

bucket=$(out DashboardBucket)
dist=$(out DistributionId)
if [ -n "$DASHBOARD_CONFIG" ]; then
  config=$(cat "$DASHBOARD_CONFIG")
else
  config=$(out DashboardConfig)
fi
if [ -z "$config" ] || [ "$config" = None ]; then
  echo "deploy: no DashboardConfig output (external OIDC issuer): run again with DASHBOARD_CONFIG=path/to/config.json" >&2
  exit 1
fi

"${aws[@]}" s3 sync frontend/dist/assets "s3://$bucket/assets" --delete --cache-control "public, max-age=31536000, immutable"
"${aws[@]}" s3 sync frontend/dist "s3://$bucket" --delete --exclude "assets/*" --exclude config.json --cache-control "no-cache"
printf '%s\n' "$config" | "${aws[@]}" s3 cp - "s3://$bucket/config.json" --content-type application/json --cache-control "no-cache"
"${aws[@]}" cloudfront create-invalidation --distribution-id "$dist" --paths "/*" --query Invalidation.Id --output text >/dev/null

echo
echo "Dashboard: $(out DashboardUrl)"
echo "API:       $api"
