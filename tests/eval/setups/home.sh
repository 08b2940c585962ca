#!/bin/bash
# Cmdbar's own validation setup "home": one user's home directory (/root, which is $HOME in the
# sandbox) plus /var/log, /srv and /backup. Written for tests/eval (issue 18); deterministic:
# fixed contents, file times set explicitly where a task depends on them.
set -e
H=/root
# set a time relative to now, rounded down to the hour, so two builds seconds apart agree
at() { local when; when=$(date -d "$1" '+%F %H:00'); shift; touch -d "$when" "$@"; }

# where a "here" task starts: the task's setup env sets EVAL_CWD, and BASH_ENV points bash at this
# file, which changes into EVAL_CWD once (exported guard, so child shells keep their own cwd)
cat > $H/.eval_cwd <<'RC'
if [ -z "$EVAL_CWD_DONE" ] && [ -n "$EVAL_CWD" ]; then export EVAL_CWD_DONE=1; cd "$EVAL_CWD"; fi
RC

mkdir -p $H/Downloads $H/Documents/letters $H/Documents/taxes/2025 $H/Documents/old/empty-inside \
         $H/Documents/scans $H/Documents/archive $H/Pictures/vacation $H/projects/webapp/src/components \
         $H/projects/webapp/scripts $H/projects/webapp/config $H/projects/webapp/node_modules/leftpad \
         $H/projects/webapp/node_modules/tiny-router/lib $H/projects/webapp/api $H/projects/scraper \
         $H/data $H/backups $H/bin $H/.ssh /var/log/nginx /var/log/old /srv/restore /backup/docs

# ---------------------------------------------------------------- Downloads
head -c 3500000 /dev/zero | tr '\0' 'a' > "$H/Downloads/ubuntu-tools.deb"
head -c 2600000 /dev/zero | tr '\0' 'm' > "$H/Downloads/talk.mp4"
head -c 1800000 /dev/zero | tr '\0' 's' > "$H/Downloads/song.mp3"
head -c 900000  /dev/zero | tr '\0' 'x' > "$H/Downloads/setup.exe"
head -c 700000  /dev/zero | tr '\0' 'y' > "$H/Downloads/driver-installer.exe"
head -c 400000  /dev/zero | tr '\0' 'j' > "$H/Downloads/photo1.jpg"
head -c 350000  /dev/zero | tr '\0' 'J' > "$H/Downloads/photo2.JPG"
printf '%%PDF-1.4 invoice 2291\n' > "$H/Downloads/invoice-2291.pdf"
printf '%%PDF-1.4 annual report\n%.0s' $(seq 1 40) > "$H/Downloads/Report.pdf"
printf '%%PDF-1.4 annual report\n%.0s' $(seq 1 40) > "$H/Downloads/report (1).pdf"
printf 'milk\neggs\nbread\n' > "$H/Downloads/shopping list.txt"
printf 'Name,Q1,Q2\nrent,1200,1200\nfood,430,455\n' > "$H/Downloads/Budget 2026.csv"
at '1 day ago'   "$H/Downloads/invoice-2291.pdf" "$H/Downloads/shopping list.txt"
at '5 hours ago' "$H/Downloads/photo2.JPG"
for f in ubuntu-tools.deb talk.mp4 song.mp3 setup.exe driver-installer.exe photo1.jpg Report.pdf \
         "report (1).pdf" "Budget 2026.csv"; do at '12 days ago' "$H/Downloads/$f"; done

# ---------------------------------------------------------------- Documents
printf 'Dear landlord,\nthe heating is broken again.\n' > $H/Documents/letters/landlord.txt
printf 'To whom it may concern,\nplease find my application attached.\n' > $H/Documents/letters/job-application.txt
printf 'income 52000\ndeductions 3100\n' > $H/Documents/taxes/2025/summary.txt
printf 'receipt: laptop 1299\n' > $H/Documents/taxes/2025/receipts.txt
printf 'PK-fake-spreadsheet\n' > $H/Documents/taxes/2025/expenses.ods
: > $H/Documents/empty.txt
: > $H/Documents/taxes/placeholder.md
mkdir -p $H/Documents/unused
printf 'call mum\nrenew passport\nfix bike\n' > $H/Documents/todo.txt
printf '# Team meeting\n- budget\n- hiring\n' > $H/Documents/meeting-notes.md
printf 'scan 1\n' > "$H/Documents/scans/tax form 2025.pdf"
printf 'scan 2\n' > "$H/Documents/scans/passport copy.pdf"
printf 'scan 3\n' > "$H/Documents/scans/lease.pdf"
printf 'minutes january\n' > $H/Documents/archive/minutes-jan.txt
printf 'minutes february\n' > $H/Documents/archive/minutes-feb.txt
printf 'index of the archive\n' > $H/Documents/archive/index.md
printf 'my wifi password is hunter2\n' > $H/Documents/wifi.txt
find $H/Documents -exec touch -d "$(date -d '20 days ago' '+%F %H:00')" {} +
at '3 days ago' $H/Documents/meeting-notes.md
at '2 hours ago' $H/Documents/todo.txt
# access times in the future (later than mtime and ctime): relatime then never updates them when
# something reads the files, so a zip made of them (zip stores atime) is the same on every build
find $H/Documents -exec touch -a -d '2030-01-01 00:00' {} +

# ---------------------------------------------------------------- Pictures
for i in 01 02 03 04 05; do printf 'jpeg %s\n' $i > $H/Pictures/IMG_00$i.jpeg; done
printf 'png a\n' > $H/Pictures/screenshot-1.png
printf 'png b\n' > $H/Pictures/screenshot-2.png
printf 'JPG upper\n' > $H/Pictures/DSC_0100.JPG
printf 'jpg lower\n' > $H/Pictures/cat.jpg
printf 'heic 1\n' > $H/Pictures/vacation/beach.HEIC
printf 'jpg beach\n' > $H/Pictures/vacation/beach2.jpg
printf 'JPG sunset\n' > $H/Pictures/vacation/sunset.JPG
head -c 2200000 /dev/zero | tr '\0' 'p' > $H/Pictures/vacation/panorama.png

# ---------------------------------------------------------------- projects/webapp
W=$H/projects/webapp
cat > $W/package.json <<'X'
{
  "name": "webapp",
  "version": "0.3.1",
  "scripts": { "start": "node src/index.js" }
}
X
printf '# webapp\n\nA small demo site.\n' > $W/README.md
cat > $W/src/index.js <<'X'
const router = require('tiny-router');
// TODO: read the port from config
const port = 8080;
router.listen(port);
X
cat > $W/src/components/header.js <<'X'
export function header(title) {
  return `<h1>${title}</h1>`;
}
X
cat > $W/src/components/footer.js <<'X'
// TODO: add the copyright year
export const footer = () => '<footer></footer>';
X
cat > $W/src/util.js <<'X'
export const add = (a, b) => a + b;
X
cat > $W/api/server.py <<'X'
import json
from http.server import HTTPServer


def handler():
    # TODO: validate input
    return json.dumps({"ok": True})


if __name__ == "__main__":
    print(handler())
X
cat > $W/api/models.py <<'X'
class User:
    def __init__(self, name):
        self.name = name
X
printf 'module.exports = (s, n) => s.padStart(n);\n' > $W/node_modules/leftpad/index.js
printf '{"name": "leftpad"}\n' > $W/node_modules/leftpad/package.json
printf '// TODO upstream: remove\nmodule.exports = {listen() {}};\n' > $W/node_modules/tiny-router/lib/router.js
printf 'module.exports = require("./lib/router");\n' > $W/node_modules/tiny-router/index.js
printf '{"port": 8080}\n' > $W/config/config.json
printf 'home http://example.com/\ndocs http://docs.example.com/start\napi https://api.example.com/\n' > $W/config/urls.txt
printf 'DEBUG=false\n' > $W/config/settings.env
chmod 664 $W/config/config.json
chmod 666 $W/config/urls.txt
chmod 775 $W/config
printf '#!/bin/sh\necho deploying\n' > $W/deploy.sh
printf '#!/bin/sh\nnice > build-priority.txt\n' > $W/build.sh
chmod 755 $W/build.sh
printf '#!/bin/sh\necho started > started.txt\nsleep 5\necho finished > finished.txt\n' > $W/slow-task.sh
chmod 755 $W/slow-task.sh
printf '#!/bin/sh\necho lint\n' > $W/scripts/lint.sh
printf '#!/bin/sh\necho test\n' > $W/scripts/test.sh
printf 'not a script\n' > $W/scripts/README.txt
printf 'cache\n' > $W/build.tmp
printf 'cache\n' > $W/src/.cache.tmp
printf 'SECRET_KEY=abc123\n' > $W/.env
chmod 666 $W/src/util.js

# ---------------------------------------------------------------- projects/scraper
S=$H/projects/scraper
printf 'import requests\n\nprint("scrape")\n' > $S/main.py
printf '{"start_url": "https://example.org"}\n' > $S/config.json
printf 'tmp\n' > $S/page1.tmp
find $H/projects -exec touch -d "$(date -d '6 days ago' '+%F %H:00')" {} +
at '3 hours ago' $W/src/components/footer.js $S/main.py

# ---------------------------------------------------------------- data
D=$H/data
{
  n=0
  for spec in 10.0.0.5:14 192.168.1.20:11 10.0.0.9:9 172.16.4.2:8 10.0.0.7:7 192.168.1.33:6 \
              203.0.113.9:5 198.51.100.4:4 10.0.0.12:3 172.16.4.8:2 192.168.1.99:1 10.0.0.200:1; do
    ip=${spec%:*}; c=${spec#*:}
    for i in $(seq 1 $c); do
      n=$((n + 1))
      case $((n % 5)) in
        0) st=404; p=/missing.png ;;
        1) st=200; p=/index.html ;;
        2) st=200; p=/api/items ;;
        3) st=500; p=/api/cart ;;
        *) st=301; p=/old ;;
      esac
      printf '%s - - [30/Nov/2026:10:%02d:%02d +0000] "GET %s HTTP/1.1" %s %d "-" "curl/8.0"\n' \
        "$ip" $((n % 60)) $(( (n * 7) % 60 )) "$p" "$st" $((100 + n * 13))
    done
  done
} > $D/access.log
cat > $D/server.log <<'X'
2026-11-30 09:58:01 INFO  starting server on :8080
2026-11-30 09:58:02 INFO  connected to database
2026-11-30 10:02:15 WARN  slow query (1.2s)
2026-11-30 10:05:40 ERROR request timeout talking to payments
2026-11-30 10:05:41 INFO  retrying payment
2026-11-30 10:07:12 ERROR database connection lost
2026-11-30 10:07:13 INFO  reconnected
2026-11-30 10:15:00 WARN  Timeout waiting for cache
2026-11-30 10:20:33 INFO  request served in 12ms
2026-11-30 10:31:09 ERROR TIMEOUT from upstream api
2026-11-30 10:40:00 INFO  shutting down
X
cat > $D/sales.csv <<'X'
date,region,product,units,amount
2026-10-01,north,widget,3,45
2026-10-01,south,gadget,1,120
2026-10-02,north,gadget,2,240
2026-10-03,east,widget,10,150
2026-10-03,west,gizmo,4,396
2026-10-04,south,widget,6,90
2026-10-05,east,gizmo,1,99
X
cat > $D/users.csv <<'X'
id,name,email,city
1,Anna Schmidt,anna.schmidt@gmail.com,Berlin
2,Ben Carter,ben@carter.dev,London
3,Chloe Martin,chloe.m@gmail.com,Paris
4,David Weber,dweber@web.de,Berlin
5,Emma Rossi,emma.rossi@yahoo.it,Rome
6,Felix Braun,felix.braun@gmail.com,Berlin
7,Grace Lee,grace@lee.io,London
X
printf 'olivia\nliam\nemma\nnoah\nliam\nava\nolivia\nsophia\nmia\nnoah\nliam\n' > $D/names.txt
printf 'a@x.org\nb@y.org\nc@z.org\na@x.org\nd@w.org\nb@y.org\ne@v.org\na@x.org\n' > $D/emails.txt
printf 'the cat sat on the mat\nthe dog sat on the log\na cat and a dog met on a mat\n' > $D/essay.txt
printf 'buy milk\n\nwrite report\n\n\ncall the bank\nbook flights\n\n' > $D/notes.txt
cat > $D/config.ini <<'X'
# application settings
[server]
host = 0.0.0.0
port = 8080
# port = 9090 was the old value
[database]
name = shop
# user = admin
user = shop_rw
X
cp $D/config.ini $D/config.ini.bak
sed -i 's/^port = 8080/port = 80/; s/^user = shop_rw/user = root/' $D/config.ini.bak
printf 'apples\nbananas\ncherries\ndates\nfigs\ngrapes\n' > $D/fruits-shop.txt
printf 'bananas\ndates\nelderberries\ngrapes\n' > $D/fruits-home.txt
printf 'quarterly report draft\n' > $D/report.txt
{ echo 'id,value'; seq 1 3499 | awk '{print $1 "," ($1 * 3) % 17}'; } > $D/big.csv
printf 'date,amount\n2025-12-01,10\n2025-12-02,20\n' > $D/old-sales.csv
gzip -n $D/old-sales.csv

# ---------------------------------------------------------------- /var/log
for i in $(seq 1 50); do printf 'Nov 30 10:%02d:00 host app[%d]: event number %d\n' $i $((1000 + i)) $i; done > /var/log/syslog
printf 'app started\napp stopped\n' > /var/log/app.log
printf 'older app log\n' > /var/log/app.log.1
printf 'install log\n' > /var/log/install.log
printf 'ancient\n' > /var/log/old/boot.log
printf 'ancient too\n' > /var/log/old/kern.log
head -c 300000 /dev/zero | tr '\0' 'n' > /var/log/nginx/access.log
printf 'error one\n' > /var/log/nginx/error.log
printf 'auth ok\n' > /var/log/auth.log
at '2 days ago'  /var/log/app.log /var/log/syslog /var/log/auth.log
at '9 days ago'  /var/log/app.log.1 /var/log/nginx/error.log
at '15 days ago' /var/log/install.log /var/log/old/kern.log /var/log/nginx/access.log
at '40 days ago' /var/log/old/boot.log

# ---------------------------------------------------------------- backups, bin, ssh
mkdir -p /tmp/site/site/css
printf '<html><body>hello</body></html>\n' > /tmp/site/site/index.html
printf '<html><body>about</body></html>\n' > /tmp/site/site/about.html
printf 'body { color: black; }\n' > /tmp/site/site/css/main.css
tar -czf $H/backups/site-2026-11-01.tar.gz -C /tmp/site site
tar -czf $H/backups/site-2026-10-01.tar.gz -C /tmp/site site/index.html
touch -d '2026-11-01 12:00' /tmp/site/site/*.html
(cd /tmp/site/site && zip -q -X $H/Downloads/photos.zip index.html about.html)
at '12 days ago' $H/Downloads/photos.zip
rm -rf /tmp/site
printf '#!/bin/sh\necho "backing up"\necho "warning: disk almost full" >&2\necho "done"\n' > $H/bin/backup.sh
printf '#!/bin/sh\necho cleanup\n' > $H/bin/cleanup.sh
printf 'just notes, not a program\n' > $H/bin/notes.txt
chmod 755 $H/bin/backup.sh $H/bin/cleanup.sh
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nfake\n-----END OPENSSH PRIVATE KEY-----\n' > $H/.ssh/id_ed25519
printf 'ssh-ed25519 AAAAfake sam@laptop\n' > $H/.ssh/id_ed25519.pub
chmod 700 $H/.ssh
chmod 644 $H/.ssh/id_ed25519 $H/.ssh/id_ed25519.pub
