#!/bin/bash
# Cmdbar's own validation setup "repo": a small git repository at /root/code/shop with two
# authors, a feature branch, a tag, one uncommitted change and one untracked file.
# Commit dates and identities are fixed, so commit ids are the same on every build. The task env
# keeps git from rewriting the index, whose stat data (inode, ctime) would differ between builds:
# GIT_INDEX_FILE puts the index in a directory made read-only at the end, so the index refresh that
# `git status` / `git diff` do on the side cannot take its lock and is skipped (GIT_OPTIONAL_LOCKS=0
# says the same to `git status`); .git itself stays writable for tags, branches and HEAD.
# Tasks therefore only read the repo or add refs; `git add` / `git commit` fail here.
set -e
# same start-directory hook as home.sh
cat > /root/.eval_cwd <<'RC'
if [ -z "$EVAL_CWD_DONE" ] && [ -n "$EVAL_CWD" ]; then export EVAL_CWD_DONE=1; cd "$EVAL_CWD"; fi
RC
mkdir -p /root/code/shop
cd /root/code/shop
cat > /root/.gitconfig <<'X'
[user]
	name = Sam Example
	email = sam@example.com
[init]
	defaultBranch = main
[core]
	logAllRefUpdates = false
X
git init -q .
mkdir -p "$(dirname "$GIT_INDEX_FILE")"
c() {  # c AUTHOR EMAIL DATE MESSAGE
  GIT_AUTHOR_NAME="$1" GIT_AUTHOR_EMAIL="$2" GIT_COMMITTER_NAME="$1" GIT_COMMITTER_EMAIL="$2" \
  GIT_AUTHOR_DATE="$3 +0000" GIT_COMMITTER_DATE="$3 +0000" git commit -q -m "$4"
}
printf '# shop\n\nA tiny online shop.\n' > README.md
printf '*.log\nbuild/\n' > .gitignore
git add README.md .gitignore
c Alice alice@example.com '2026-09-01T09:00:00' 'Initial commit'
mkdir -p src tests
printf 'def price(item):\n    return item["price"]\n' > src/catalog.py
git add src/catalog.py
c Alice alice@example.com '2026-09-02T10:30:00' 'Add catalog with prices'
printf 'from src.catalog import price\n\ndef test_price():\n    assert price({"price": 3}) == 3\n' > tests/test_catalog.py
git add tests/test_catalog.py
c Bob bob@example.com '2026-09-03T14:00:00' 'Add tests for catalog'
printf 'def total(items):\n    return sum(i["price"] for i in items)\n' > src/checkout.py
git add src/checkout.py
c Alice alice@example.com '2026-09-05T16:45:00' 'Add checkout total'
git tag v1.0
printf 'def price(item):\n    return round(item["price"], 2)\n' > src/catalog.py
printf 'Run the tests with pytest.\n' >> README.md
git add src/catalog.py README.md
c Bob bob@example.com '2026-09-08T11:15:00' 'Round prices to cents'
printf 'def total(items, discount=0):\n    return sum(i["price"] for i in items) - discount\n' > src/checkout.py
git add src/checkout.py
c Alice alice@example.com '2026-09-10T08:20:00' 'Support discounts at checkout'
git branch feature/cart
git checkout -q feature/cart
printf 'class Cart:\n    def __init__(self):\n        self.items = []\n' > src/cart.py
git add src/cart.py
c Carol carol@example.com '2026-09-11T13:00:00' 'Add cart class'
printf '    def add(self, item):\n        self.items.append(item)\n' >> src/cart.py
git add src/cart.py
c Carol carol@example.com '2026-09-12T09:40:00' 'Cart: add items'
git checkout -q main
printf 'def test_total():\n    pass\n' > tests/test_checkout.py
git add tests/test_checkout.py
c Bob bob@example.com '2026-09-15T17:05:00' 'Add checkout test stub'
# uncommitted work
printf 'Contributions welcome.\n' >> README.md
printf 'remember to ask Bob about refunds\n' > notes.txt
printf 'debug output\n' > server.log
# an index with zeroed stat data (inode, ctime ... differ between builds otherwise); git re-hashes
# the files when it compares
git read-tree HEAD
chmod 555 "$(dirname "$GIT_INDEX_FILE")"
