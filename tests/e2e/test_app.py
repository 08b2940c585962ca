#!/usr/bin/env python3
"""The real app end to end, under Xvfb: hotkey, popup, suggestions from the
real 0.5B model, copy, settings (hotkey change), tray menu. Drives the
webviews through tauri-driver + WebKitWebDriver and the desktop through
xdotool, xclip and trayer. Screenshots go to docs/screenshots/.

Run by scripts/e2e inside xvfb-run and dbus-run-session; takes the app
binary and the model path from the environment (CMDBAR_APP, CMDBAR_MODEL).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

from hub_server import Hub, FILE, REPO
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(ROOT, "docs", "screenshots")
APP = os.environ["CMDBAR_APP"]


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True).stdout.strip()


def wait(what, f, timeout=30.0, every=0.2):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = f()
            if last:
                return last
        except Exception as e:  # the page may be mid-render
            last = e
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def visible(title):
    return sh("xdotool", "search", "--onlyvisible", "--name", f"^{title}$", check=False) != ""


def height(title):
    """The window's height on screen, from the X server."""
    wid = sh("xdotool", "search", "--onlyvisible", "--name", f"^{title}$").split()[0]
    return int(sh("xdotool", "getwindowgeometry", "--shell", wid).split("HEIGHT=")[1].split()[0])


def shot(name, where=SHOTS, window=None):
    """The whole screen, or one window by its title."""
    os.makedirs(where, exist_ok=True)
    wid = sh("xdotool", "search", "--onlyvisible", "--name", f"^{window}$", check=False).split() if window else []
    sh("import", "-window", wid[0] if wid else "root", os.path.join(where, name))


AXE = os.path.join(ROOT, "ui", "node_modules", "axe-core", "axe.min.js")


def audit(app, what):
    """axe-core in the real webview: serious and critical violations fail."""
    if not app.js("return typeof window.axe === 'object'"):
        app.js(open(AXE).read())
    result = app.d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))))"
        ".catch(e => done(JSON.stringify({error: String(e)})));")
    violations = json.loads(result)
    assert isinstance(violations, list), f"axe did not run on {what}: {violations}"
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    for v in violations:
        print(f"  axe {what}: {v['impact']} {v['id']}: {v['help']} {v['nodes'][:3]}", flush=True)
    assert not bad, f"axe on {what}: {json.dumps(bad, indent=1)}"


class App:
    def __init__(self, hub=None):
        self.config = tempfile.mkdtemp(prefix="cmdbar-e2e-")
        os.environ["CMDBAR_CONFIG_DIR"] = self.config
        # Models come from a local Hub into an empty cache.
        self.hub = hub or Hub(os.environ["CMDBAR_HUB_FILE"])
        os.environ["HF_ENDPOINT"] = self.hub.url
        os.environ["HF_HOME"] = os.path.join(self.config, "hf")
        os.environ["XDG_CACHE_HOME"] = os.path.join(self.config, "cache")
        os.environ["CMDBAR_KEEP_POPUP"] = "1"  # no window manager moves focus here
        # The app's socket for the CLI, this run's own.
        os.environ["CMDBAR_SOCKET"] = os.path.join(self.config, "cmdbar.sock")
        self.trayer = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request", "--height", "32",
             "--SetDockType", "true", "--transparent", "false", "--tint", "0x202020"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.driver_proc = subprocess.Popen(["tauri-driver", "--port", "4444"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": APP})
        self.d = webdriver.Remote("http://127.0.0.1:4444", options=opts)
        self.handles = {}

    def window(self, title):
        """Switches WebDriver to the webview whose document has this title."""
        def find():
            for h in self.d.window_handles:
                self.d.switch_to.window(h)
                if self.d.title == title:
                    return h
        return wait(f"window {title}", find, 15)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def close(self):
        for f in (lambda: self.d.quit(), self.driver_proc.terminate, self.trayer.terminate, self.hub.close):
            try:
                f()
            except Exception:
                pass
        # The app is single-instance: one still shutting down would take
        # the next app's launch as a second one.
        end = time.time() + 10
        while app_pids() and time.time() < end:
            time.sleep(0.2)
        for pid in app_pids():
            try:
                os.kill(pid, 15)
            except OSError:
                pass
        shutil.rmtree(self.config, ignore_errors=True)


def app_pids():
    """The processes of the app binary under test (only this run starts it)."""
    exe, pids = os.path.realpath(APP), []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{p}/exe").removesuffix(" (deleted)") == exe:
                pids.append(int(p))
        except OSError:
            pass
    return pids


def test_hotkey_shows_the_popup_with_focus(app):
    app.window("Cmdbar")
    time.sleep(2)  # the hotkey is registered in the app's setup
    assert not visible("Cmdbar"), "the popup starts hidden"
    sh("xdotool", "key", "ctrl+shift+space")
    wait("the popup to appear", lambda: visible("Cmdbar"), 10)
    wait("focus in the input", lambda: app.js("return document.activeElement && document.activeElement.id") == "query", 5)
    # A Tab with no results is not the popup's, and may take the focus out
    # of the input (here nothing else can have it: it comes back). With
    # the focus nowhere, as after a click, Esc still hides the popup.
    ActionChains(app.d).send_keys(Keys.TAB).perform()
    app.js("document.activeElement && document.activeElement.blur()")
    assert app.js("return document.activeElement === document.body"), "the focus is out of the input"
    ActionChains(app.d).send_keys(Keys.ESCAPE).perform()
    wait("Esc to hide the popup", lambda: not visible("Cmdbar"), 5)
    sh("xdotool", "key", "ctrl+shift+space")
    wait("the popup again", lambda: visible("Cmdbar"), 10)
    wait("focus in the input again", lambda: app.js("return document.activeElement && document.activeElement.id") == "query", 5)


def test_query_streams_candidates_with_badges(app):
    app.window("Cmdbar")
    wait("the model to load", lambda: not app.js("return document.getElementById('status').dataset.kind === 'loading'"), 120)
    q = app.d.find_element(By.ID, "query")
    q.clear()
    q.send_keys("show the five largest files in this folder", Keys.ENTER)
    first = wait("a first candidate", lambda: app.d.find_elements(By.CSS_SELECTOR, ".candidate"), 180)[0]
    first_command = first.find_element(By.CSS_SELECTOR, ".command").text
    wait("2 or more candidates", lambda: len(app.d.find_elements(By.CSS_SELECTOR, ".candidate")) >= 2, 180)
    wait("the request to finish", lambda: app.d.find_element(By.ID, "footer").text, 180)
    # Streamed candidates are appended and filled in place: the first row,
    # shown once its command was complete, is the same element if the final
    # order keeps its command (a re-render would have made this reference
    # stale). The first command to complete may be ranked out.
    shown = [c.text for c in app.d.find_elements(By.CSS_SELECTOR, ".candidate .command")]
    if first_command in shown:
        assert first.find_element(By.CSS_SELECTOR, ".command").text == first_command
    assert "suggestion" in app.d.find_element(By.ID, "footer").text
    assert "tok/s" not in app.d.find_element(By.ID, "footer").text, "tokens per second only with the debug setting"
    for c in app.d.find_elements(By.CSS_SELECTOR, ".candidate"):
        badge = c.find_element(By.CSS_SELECTOR, ".badge")
        assert badge.text.lower() in ("safe", "moderate", "high", "critical"), badge.text
        assert badge.get_attribute("title"), "the reason is on hover"
        assert c.find_element(By.CSS_SELECTOR, ".command").text.strip()
    # The window's height follows its content (within the app's bounds).
    # The results would not fit the 96-120 px the popup starts at.
    wait("the window to grow to its results", lambda: height("Cmdbar") > 200, 10)
    fits = "const r = document.getElementById('results'); return r.scrollHeight <= r.clientHeight + 1"
    wait("the results to fit the window (unless it is at its largest)",
         lambda: app.js(fits) or height("Cmdbar") >= 638, 5)
    hints = app.d.find_element(By.ID, "actions").text
    assert "Enter Copy" in hints and "Tab Edit" in hints and "Ctrl+R History" in hints, hints
    shot("popup.png", window="Cmdbar")


def test_the_cli_answers_through_the_running_app(app):
    """With the app up and its model loaded, `cmdbar` asks it over the
    socket (mode 0600) and loads nothing itself."""
    sock = os.environ["CMDBAR_SOCKET"]
    wait("the app's socket", lambda: os.path.exists(sock), 30)
    assert os.stat(sock).st_mode & 0o777 == 0o600, oct(os.stat(sock).st_mode)
    cli = os.path.join(os.path.dirname(APP), "cmdbar")
    out = subprocess.run([cli, "suggest", "--json", "-n", "1", "--os", "linux", "list all files here"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    v = json.loads(out.stdout)
    assert v["served_by"] == "app", v
    assert v["timings"]["load_ms"] == 0 and v["candidates"], v


def test_popup_keys_and_screen_reader(app):
    app.window("Cmdbar")
    q = app.d.find_element(By.ID, "query")
    active = lambda: q.get_attribute("aria-activedescendant")
    assert q.get_attribute("role") == "combobox" and q.get_attribute("aria-expanded") == "true"
    assert active() == "cand-0"
    assert "Suggestion" in app.js("return document.getElementById('announce').textContent")
    # After a click elsewhere the keys still work.
    app.d.find_element(By.ID, "footer").click()
    ActionChains(app.d).send_keys(Keys.ARROW_DOWN).perform()
    wait("the second option active", lambda: active() == "cand-1", 5)
    assert app.d.find_element(By.ID, "cand-1").get_attribute("aria-selected") == "true"
    ActionChains(app.d).send_keys(Keys.ARROW_UP).perform()
    wait("the first option again", lambda: active() == "cand-0", 5)
    # An IME's composing Enter (Japanese, Chinese input) sends nothing.
    footer = app.d.find_element(By.ID, "footer").text
    app.js("const q = document.getElementById('query'); q.value = 'にほんご';"
           "q.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}))")
    time.sleep(0.5)
    assert app.d.find_element(By.ID, "status").get_attribute("data-kind") != "busy"
    assert app.d.find_element(By.ID, "footer").text == footer, "no new request"
    app.js("document.getElementById('query').value = 'show the five largest files in this folder'")
    audit(app, "the popup with results")


def test_enter_copies_to_the_clipboard(app):
    app.window("Cmdbar")
    first = app.d.find_elements(By.CSS_SELECTOR, ".candidate")[0]
    command = first.find_element(By.CSS_SELECTOR, ".command").text
    needs_confirm = first.find_element(By.CSS_SELECTOR, ".badge").text.lower() in ("high", "critical")
    q = app.d.find_element(By.ID, "query")
    q.send_keys(Keys.ENTER)
    if needs_confirm:
        # A second Enter is never a confirm; Ctrl+Shift+Enter is.
        q.send_keys(Keys.CONTROL + Keys.SHIFT + Keys.ENTER + Keys.NULL)
    got = wait("the clipboard", lambda: sh("xclip", "-o", "-selection", "clipboard", check=False), 10)
    assert got == command, (got, command)
    # Copied: the popup goes, and the hotkey brings it back.
    wait("the popup to hide", lambda: not visible("Cmdbar"), 5)
    sh("xdotool", "key", "ctrl+shift+space")
    wait("the popup again", lambda: visible("Cmdbar"), 5)


def test_critical_command_needs_a_second_confirm(app):
    app.window("Cmdbar")
    q = app.d.find_element(By.ID, "query")
    q.clear()
    q.send_keys("delete every file on this computer starting from / without asking", Keys.ENTER)
    wait("the request to finish", lambda: app.d.find_element(By.ID, "footer").text, 180)
    badges = [b.text.lower() for b in app.d.find_elements(By.CSS_SELECTOR, ".candidate .badge")]
    # Each high or critical candidate says why in words under it. (The
    # request's own floor does not catch "starting from /" yet: a known gap.)
    dangerous = [b for b in badges if b in ("high", "critical")]
    assert dangerous, badges
    assert len(app.d.find_elements(By.CSS_SELECTOR, ".candidate .risk-reason")) == len(dangerous)
    worst = "critical" if "critical" in badges else "high"
    for _ in range(badges.index(worst)):
        q.send_keys(Keys.ARROW_DOWN)
    before = sh("xclip", "-o", "-selection", "clipboard", check=False)
    q.send_keys(Keys.ENTER)
    wait("the confirm warning", lambda: app.d.find_elements(By.CSS_SELECTOR, ".confirm"), 5)
    assert "Copied" not in app.d.find_element(By.ID, "status").text
    assert sh("xclip", "-o", "-selection", "clipboard", check=False) == before, "nothing copied before the confirm"
    assert app.d.find_element(By.CSS_SELECTOR, ".confirm").get_attribute("role") == "alert"
    # However late, a second Enter does not confirm.
    time.sleep(1.0)
    q.send_keys(Keys.ENTER)
    time.sleep(0.5)
    assert sh("xclip", "-o", "-selection", "clipboard", check=False) == before, "a second Enter is not a confirm"
    shot("critical.png", window="Cmdbar")
    audit(app, "the popup with a critical command's warning")
    q.send_keys(Keys.ESCAPE)
    wait("the warning to go", lambda: not app.d.find_elements(By.CSS_SELECTOR, ".confirm"), 5)


def cpu_seconds(pid):
    """The user and system time a process has used, all threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid, seconds):
    """How many cores the process keeps busy over the next `seconds`."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def test_esc_during_generation_stops_the_request(app):
    """Esc while the model is still answering stops the request, not only
    the window: the popup hides, the request ends as cancelled (no answer
    is finished), the app's CPU goes quiet at once, and the next request is
    answered as usual."""
    app.window("Cmdbar")
    (pid,) = app_pids()
    status = lambda: app.js("return document.getElementById('status').dataset.kind")
    footer = lambda: app.d.find_element(By.ID, "footer").text
    q = app.d.find_element(By.ID, "query")
    q.clear()
    q.send_keys("find every log file under this folder changed in the last week and compress each one", Keys.ENTER)
    wait("the request to start", lambda: status() == "busy", 10)
    working = cpu_share(pid, 0.5)
    assert status() == "busy" and footer() == "", "the request should still be running"
    assert working > 0.5, f"the engine should be working: {working:.2f} cores"
    q.send_keys(Keys.ESCAPE)
    wait("the popup to hide", lambda: not visible("Cmdbar"), 5)
    # Stopped, the engine ends the request at its next token, so the
    # popup hears it is cancelled at once, not when the answer is done.
    wait("the request to end", lambda: status() != "busy", 2)
    time.sleep(0.3)
    quiet = cpu_share(pid, 1.5)
    print(f"  cpu: {working:.2f} cores while answering, {quiet:.2f} after Esc", flush=True)
    assert quiet < 0.15, f"the engine should be idle after Esc, not {quiet:.2f} cores (was {working:.2f})"
    assert footer() == "", f"a stopped request finishes no answer: {footer()!r}"
    # The next request is answered as usual.
    sh("xdotool", "key", "ctrl+shift+space")
    wait("the popup again", lambda: visible("Cmdbar"), 5)
    q = app.d.find_element(By.ID, "query")
    q.clear()
    q.send_keys("list the files in this folder", Keys.ENTER)
    wait("a candidate for the next request", lambda: app.d.find_elements(By.CSS_SELECTOR, ".candidate"), 90)
    wait("the next request to finish", footer, 180)


def test_settings_change_the_hotkey(app):
    app.window("Cmdbar")
    app.d.find_element(By.ID, "query").send_keys(Keys.CONTROL, ",")
    wait("the settings window", lambda: visible("Cmdbar Settings"), 10)
    app.window("Cmdbar Settings")
    hk = wait("the hotkey field", lambda: app.d.find_element(By.ID, "hotkey"), 10)
    # The tldr pages were read on first use from the archive the script
    # serves ($CMDBAR_TLDR_URL); Settings › About says so, with the attribution.
    app.d.find_element(By.ID, "tab-about").click()
    app.js("document.getElementById('tldr-update').click()")
    wait("the tldr examples", lambda: "worked examples from" in app.d.find_element(By.ID, "tldr-status").text, 60)
    assert "CC BY 4.0" in app.d.find_element(By.ID, "attribution").text
    app.d.find_element(By.ID, "tab-general").click()
    assert hk.get_attribute("value") == "Ctrl+Shift+Space"
    app.js("const h = document.getElementById('hotkey'); h.value = 'Ctrl+Alt+K';"
           "h.dispatchEvent(new Event('change', {bubbles: true}));")
    wait("Saved", lambda: app.d.find_element(By.ID, "hotkey-saved").text == "Saved", 10)
    assert app.d.find_element(By.ID, "hotkey-error").text == ""
    time.sleep(0.5)
    shot("settings-general.png", window="Cmdbar Settings")
    audit(app, "Settings › General")
    saved = json.load(open(os.path.join(app.config, "settings.json")))
    assert saved["hotkey"] == "Ctrl+Alt+K", saved

    # A hotkey that can't be parsed is refused, visibly, and nothing changes.
    app.js("const h = document.getElementById('hotkey'); h.value = 'Ctrl+Banana';"
           "h.dispatchEvent(new Event('change', {bubbles: true}));")
    wait("the error beside the field", lambda: "not a hotkey" in app.d.find_element(By.ID, "hotkey-error").text, 10)
    assert app.d.find_element(By.ID, "hotkey").get_attribute("value") == "Ctrl+Alt+K"
    app.js("document.getElementById('hotkey').dispatchEvent(new Event('change', {bubbles: true}))")
    wait("the error to clear", lambda: app.d.find_element(By.ID, "hotkey-error").text == "", 5)
    # A capital typed into the recorder is typing, not a hotkey.
    hk.send_keys(Keys.SHIFT + "c" + Keys.NULL)
    time.sleep(0.5)
    assert json.load(open(os.path.join(app.config, "settings.json")))["hotkey"] == "Ctrl+Alt+K"
    app.js("const h = document.getElementById('hotkey'); h.value = 'Ctrl+Alt+K';")

    app.d.find_element(By.ID, "tab-about").click()
    wait("the About tab", lambda: app.d.find_element(By.ID, "panel-about").is_displayed(), 5)
    assert "MIT" in app.d.find_element(By.ID, "panel-about").text
    assert app.d.find_element(By.ID, "reveal-logs").is_displayed()
    wait("the version", lambda: app.d.find_element(By.ID, "version").text == "0.1.0", 5)
    # A build without the updater's key (this one) says so, not an error.
    app.d.find_element(By.ID, "check-updates").click()
    wait("the update check", lambda: "does not update itself" in app.d.find_element(By.ID, "update-status").text, 5)
    shot("settings-about.png", window="Cmdbar Settings")
    # tauri-plugin-log writes to the platform's log folder.
    logs = os.path.join(os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share")), "app.cmdbar.desktop", "logs")
    assert any(f.endswith(".log") and os.path.getsize(os.path.join(logs, f)) for f in os.listdir(logs)), logs
    audit(app, "Settings › About")
    app.d.find_element(By.ID, "tab-general").click()

    sh("xdotool", "search", "--name", "^Cmdbar Settings$", "windowunmap", check=False)
    before = visible("Cmdbar")
    sh("xdotool", "key", "ctrl+shift+space")
    time.sleep(1.0)
    assert visible("Cmdbar") == before, "the old hotkey no longer toggles the popup"
    sh("xdotool", "key", "ctrl+alt+k")
    wait("the new hotkey to toggle the popup", lambda: visible("Cmdbar") != before, 5)


def test_tray_menu_opens_the_popup(app):
    if visible("Cmdbar"):
        sh("xdotool", "key", "ctrl+alt+k")
        wait("the popup to hide", lambda: not visible("Cmdbar"), 5)
    tray = wait("trayer", lambda: sh("xdotool", "search", "--onlyvisible", "--class", "trayer", check=False).split(), 10)
    geo = sh("xdotool", "getwindowgeometry", "--shell", tray[0])
    g = dict(line.split("=") for line in geo.splitlines())
    x, y, w, h = (int(g[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
    assert w > 1, "the tray icon is shown in the tray"
    sh("xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "1")
    time.sleep(1.0)
    shot("tray-menu.png")
    sh("xdotool", "key", "Down", "Return")  # the first item: Ask…
    wait("the popup from the tray menu", lambda: visible("Cmdbar"), 10)


def test_a_second_launch_opens_the_popup(app):
    if visible("Cmdbar"):
        sh("xdotool", "key", "ctrl+alt+k")
        wait("the popup to hide", lambda: not visible("Cmdbar"), 5)
    assert not visible("Cmdbar")
    # The second process hands over and exits; a second app would run on.
    second = subprocess.run([APP], capture_output=True, text=True, timeout=30)
    assert second.returncode == 0, second.stderr[-2000:]
    wait("the popup of the first app", lambda: visible("Cmdbar"), 10)


def test_models_pane_downloads_and_activates_a_model(app):
    # As the tray's Models… item does.
    app.window("Cmdbar")
    app.js("return window.__TAURI_INTERNALS__.invoke('open_settings', {tab: 'models'})")
    # The settings test unmapped the window behind GTK's back; map it again.
    sh("xdotool", "search", "--name", "^Cmdbar Settings$", "windowmap", check=False)
    wait("the settings window", lambda: visible("Cmdbar Settings"), 10)

    app.window("Cmdbar Settings")
    wait("the empty library", lambda: "No models yet" in app.d.find_element(By.ID, "installed").text, 10)
    cat = wait("the recommended models", lambda: app.d.find_elements(By.CSS_SELECTOR, "#catalog li.catalog-item"), 10)
    assert [c.get_attribute("data-id") for c in cat][:2] == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"], cat
    fits = [c.find_element(By.CSS_SELECTOR, ".fit").text for c in cat]
    assert all(f in ("Fits", "Tight", "Too big") for f in fits), fits
    assert all(c.find_element(By.TAG_NAME, "button").text == "Download" for c in cat), "none installed yet"
    assert all("-bit, " in c.find_element(By.CSS_SELECTOR, ".meta").text and " GB" in c.find_element(By.CSS_SELECTOR, ".meta").text
               for c in cat), [c.text for c in cat]
    shot("settings-models.png", window="Cmdbar Settings")
    audit(app, "Settings › Models")
    box = app.d.find_element(By.ID, "model-search")
    app.js("arguments[0].scrollIntoView()", box)
    box.send_keys("gemma", Keys.ENTER)
    hit = wait("a search result", lambda: app.d.find_elements(By.CSS_SELECTOR, "#search-results li.repo"), 10)[0]
    app.js("arguments[0].click()", hit)
    file = wait("the repo's files", lambda: app.d.find_elements(By.CSS_SELECTOR, "#repo-files li.file"), 10)[0]
    assert "4-bit, medium quality" in file.text, file.text
    app.js("arguments[0].click()", file.find_element(By.TAG_NAME, "button"))
    bar = lambda: app.js("const p = document.querySelector('#downloads progress'); return p ? p.value : 0")
    first = wait("the progress bar", lambda: bar() > 0 and bar(), 30)
    app.js("document.getElementById('downloads').scrollIntoView()")
    wait("the progress bar to move", lambda: bar() > first, 30)
    shot("models.png", window="Cmdbar Settings")
    done = wait("the download to finish", lambda: app.d.find_elements(By.CSS_SELECTOR, "#downloads li.state-done"), 120)[0]
    assert "verified" in done.text, done.text
    app.js("arguments[0].click()", done.find_element(By.XPATH, ".//button[text()='Use']"))
    wait("the new model to be active",
         lambda: "ready" in app.d.find_element(By.ID, "model-status").text
         and "Gemma" in app.d.find_element(By.ID, "model-status").text, 60)
    wait("the library to show it active",
         lambda: app.d.find_elements(By.CSS_SELECTOR, "#installed .active"), 10)
    saved = json.load(open(os.path.join(app.config, "settings.json")))
    assert saved["active_model"].endswith(FILE), saved
    assert f"models--{REPO.replace('/', '--')}" in saved["active_model"], saved


# The first run, in an app of its own: no model anywhere, an empty config
# and cache, the default model offered and fetched from the local Hub.
DEFAULT_REPO = "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"
DEFAULT_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def first_run_app():
    os.environ.pop("CMDBAR_MODEL", None)
    # The second app runs in dark mode, for the dark screenshots and audit.
    os.environ["GTK_THEME"] = "Adwaita:dark"
    # Fast enough to finish in seconds, slow enough to pause half-way.
    hub = Hub(os.environ["CMDBAR_DEFAULT_FILE"], bytes_per_sec=150_000_000, repo=DEFAULT_REPO, file=DEFAULT_FILE)
    return App(hub)


def welcome_state(app):
    return app.js("const w = document.getElementById('welcome'); return w && w.offsetParent !== null ? w.dataset.state : null")


def test_first_run_offers_the_default_model(app):
    app.window("Cmdbar")
    time.sleep(2)
    sh("xdotool", "key", "ctrl+shift+space")
    wait("the popup to appear", lambda: visible("Cmdbar"), 10)
    text = wait("the welcome card", lambda: welcome_state(app) == "idle" and app.d.find_element(By.ID, "welcome").text, 15)
    assert "needs a model" in text and "Qwen2.5-Coder 1.5B" in text and "1.1 GB" in text, text
    assert app.d.find_element(By.ID, "welcome-other").is_displayed()
    wait("the window to fit the card", lambda: 96 <= height("Cmdbar") < 300, 10)
    shot("first-run-1-welcome.png", window="Cmdbar")


def test_first_run_download_pauses_and_resumes(app):
    app.window("Cmdbar")
    app.js("document.getElementById('welcome-download').click()")
    wait("the download to start", lambda: welcome_state(app) == "running", 15)
    pct = lambda: app.js("const p = document.getElementById('welcome-progress'); return p ? p.value / (p.max || 1) : 0")
    wait("some progress", lambda: pct() > 0.05, 60)
    shot("first-run-2-downloading.png", window="Cmdbar")
    app.js("document.getElementById('welcome-pause').click()")
    wait("the pause", lambda: welcome_state(app) == "paused", 15)
    blobs = os.path.join(app.config, "hf", "hub", "models--" + DEFAULT_REPO.replace("/", "--"), "blobs")
    parts = [f for f in os.listdir(blobs) if f.endswith(".part")]
    assert len(parts) == 1 and os.path.getsize(os.path.join(blobs, parts[0])) > 0, os.listdir(blobs)
    at_pause = pct()
    shot("first-run-3-paused.png", window="Cmdbar")
    # Resume carries on from the partial file, not from zero.
    app.js("document.getElementById('welcome-download').click()")
    wait("the download to resume", lambda: welcome_state(app) in ("running", "loading", None), 15)
    assert pct() >= at_pause * 0.9 or welcome_state(app) != "running", (pct(), at_pause)


def test_first_run_loads_the_model_and_answers(app):
    app.window("Cmdbar")
    wait("the model to load and the card to go", lambda: welcome_state(app) is None, 240)
    saved = json.load(open(os.path.join(app.config, "settings.json")))
    assert saved["active_model"].endswith(DEFAULT_FILE), saved
    assert "models--Qwen--Qwen2.5-Coder-1.5B-Instruct-GGUF" in saved["active_model"], saved
    q = app.d.find_element(By.ID, "query")
    q.clear()
    q.send_keys("show the disk usage of each folder here", Keys.ENTER)
    wait("a first suggestion", lambda: app.d.find_elements(By.CSS_SELECTOR, ".candidate"), 120)
    wait("the request to finish", lambda: app.d.find_element(By.ID, "footer").text, 180)
    cmd = app.d.find_element(By.CSS_SELECTOR, ".candidate code").text
    assert "du" in cmd, cmd
    shot("first-run-4-answer.png", window="Cmdbar")
    # This app runs with a dark GTK theme: the webview is in dark mode.
    assert app.js("return matchMedia('(prefers-color-scheme: dark)').matches"), "dark mode"
    shot("popup-dark.png", window="Cmdbar")
    audit(app, "the popup with results, dark")


def test_dark_critical_command_waits_for_the_confirm_chord(app):
    """The critical command's warning in dark mode (its screenshot and
    audit); a second Enter does not copy it, Ctrl+Shift+Enter does."""
    app.window("Cmdbar")
    assert app.js("return matchMedia('(prefers-color-scheme: dark)').matches"), "dark mode"
    q = app.d.find_element(By.ID, "query")
    q.clear()
    q.send_keys("delete every file on this computer starting from / without asking", Keys.ENTER)
    wait("the request to finish", lambda: app.d.find_element(By.ID, "footer").text, 240)
    badges = [b.text.lower() for b in app.d.find_elements(By.CSS_SELECTOR, ".candidate .badge")]
    dangerous = [b for b in badges if b in ("high", "critical")]
    assert dangerous, badges
    assert len(app.d.find_elements(By.CSS_SELECTOR, ".candidate .risk-reason")) == len(dangerous)
    worst = "critical" if "critical" in badges else "high"
    for _ in range(badges.index(worst)):
        q.send_keys(Keys.ARROW_DOWN)
    command = app.js("return document.querySelector('.candidate.selected .command').textContent")
    before = sh("xclip", "-o", "-selection", "clipboard", check=False)
    q.send_keys(Keys.ENTER)
    wait("the confirm warning", lambda: app.d.find_elements(By.CSS_SELECTOR, ".confirm"), 5)
    time.sleep(1.0)
    q.send_keys(Keys.ENTER)
    time.sleep(0.5)
    assert sh("xclip", "-o", "-selection", "clipboard", check=False) == before, "a second Enter is not a confirm"
    assert app.d.find_elements(By.CSS_SELECTOR, ".confirm"), "the warning stays"
    shot("critical-dark.png", window="Cmdbar")
    audit(app, "the popup with a critical command's warning, dark")
    q.send_keys(Keys.CONTROL + Keys.SHIFT + Keys.ENTER + Keys.NULL)
    got = wait("the clipboard", lambda: (lambda c: c != before and c)(sh("xclip", "-o", "-selection", "clipboard", check=False)), 10)
    assert got == command.strip(), (got, command)
    wait("the popup to hide", lambda: not visible("Cmdbar"), 5)


FIRST_RUN = [
    test_first_run_offers_the_default_model,
    test_first_run_download_pauses_and_resumes,
    test_first_run_loads_the_model_and_answers,
    test_dark_critical_command_waits_for_the_confirm_chord,
]

TESTS = [
    test_hotkey_shows_the_popup_with_focus,
    test_query_streams_candidates_with_badges,
    test_the_cli_answers_through_the_running_app,
    test_popup_keys_and_screen_reader,
    test_enter_copies_to_the_clipboard,
    test_critical_command_needs_a_second_confirm,
    test_esc_during_generation_stops_the_request,
    test_settings_change_the_hotkey,
    test_tray_menu_opens_the_popup,
    test_a_second_launch_opens_the_popup,
    test_models_pane_downloads_and_activates_a_model,
]


def run(app, tests):
    passed = failed = 0
    try:
        for t in tests:
            t0 = time.time()
            try:
                t(app)
                passed += 1
                print(f"e2e {t.__name__} ... ok ({time.time() - t0:.1f}s)", flush=True)
            except Exception:
                failed += 1
                print(f"e2e {t.__name__} ... FAILED", flush=True)
                traceback.print_exc()
                out = os.environ.get("CMDBAR_E2E_OUT", tempfile.gettempdir())
                shot(f"failed-{t.__name__}.png", out)
                print(f"  screenshot: {out}/failed-{t.__name__}.png")
    finally:
        app.close()
    return passed, failed


def main():
    passed, failed = run(App(), TESTS)
    p, f = run(first_run_app(), FIRST_RUN)
    passed, failed = passed + p, failed + f
    print(f"e2e: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
