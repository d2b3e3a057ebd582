# Sourced by .ci/run and .ci/start: makes `bun` available, installing it from the npm registry when missing
# (the official installer downloads from outside the registry, which this project must not depend on).
BUN_VERSION="1.4.5"
if ! command -v bun >/dev/null 2>&1; then
  echo "bun not found; installing bun@${BUN_VERSION} from npm" >&2
  if ! npm install -g "bun@${BUN_VERSION}" >&2; then
    npm install --prefix "${HOME}/.relay-bun" "bun@${BUN_VERSION}" >&2
    export PATH="${HOME}/.relay-bun/node_modules/.bin:${PATH}"
  fi
fi
bun --version >/dev/null
