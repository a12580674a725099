# Sourced by the scripts: where the tools live and how trunk must behave. Not run on its own.

# Tools installed from npm live outside the checkout, so a fresh clone reuses them.
export CMEK_TOOLS="${CMEK_TOOLS:-$HOME/.cache/cmek-console-tools}"
export PATH="$CMEK_TOOLS/binaryen/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export AXE_JS="$CMEK_TOOLS/axe/node_modules/axe-core/axe.min.js"

# Trunk must never download: it uses the pinned tools on PATH and fails loudly on a mismatch.
# Offline mode also makes cargo offline, so scripts/setup fetches the crates first.
export TRUNK_OFFLINE=true
export TRUNK_SKIP_VERSION_CHECK=true
export TRUNK_NO_COLOR=true

export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
