# Homebrew cask for Cmdbar, the universal DMG of a GitHub release.
#
# This is the template. The release workflow (.github/workflows/release.yml)
# attaches a filled-in copy, cmdbar.rb, to each release: `version` is the
# app's version, `sha256` that release's DMG (the zeros here are a
# placeholder) and OWNER/cmdbar the repository. Homebrew installs casks from
# a tap, not from a file: copy the release's cmdbar.rb into a tap's Casks/.
cask "cmdbar" do
  version "0.1.0"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"

  url "https://github.com/OWNER/cmdbar/releases/download/v#{version}/Cmdbar_#{version}_universal.dmg"
  name "Cmdbar"
  desc "Menu-bar app that suggests shell commands from a local model"
  homepage "https://github.com/OWNER/cmdbar"

  depends_on macos: :big_sur

  app "Cmdbar.app"
  # The command line, from inside the app (release.yml puts it there).
  binary "#{appdir}/Cmdbar.app/Contents/MacOS/cmdbar"
  bash_completion "#{appdir}/Cmdbar.app/Contents/Resources/cli/cmdbar.bash"
  zsh_completion "#{appdir}/Cmdbar.app/Contents/Resources/cli/_cmdbar"
  fish_completion "#{appdir}/Cmdbar.app/Contents/Resources/cli/cmdbar.fish"

  # Launch at login (Settings) writes this Launch Agent.
  uninstall launchctl: "Cmdbar"

  # Models downloaded into the Hugging Face cache (~/.cache/huggingface) are
  # shared with other tools and stay.
  zap trash: [
    "~/.cache/cmdbar/models",
    "~/Library/Application Support/app.cmdbar.desktop",
    "~/Library/Caches/app.cmdbar.desktop",
    "~/Library/HTTPStorages/app.cmdbar.desktop",
    "~/Library/LaunchAgents/Cmdbar.plist",
    "~/Library/Preferences/app.cmdbar.desktop.plist",
    "~/Library/Saved Application State/app.cmdbar.desktop.savedState",
    "~/Library/WebKit/app.cmdbar.desktop",
  ]

  caveats <<~EOS
    Cmdbar lives in the menu bar (no Dock icon); the hotkey is Option-Space.
    In the terminal: `cmdbar`, and the widget: eval "$(cmdbar init zsh)"
    in ~/.zshrc. The man page: cmdbar man > /usr/local/share/man/man1/cmdbar.1

    Paste into Terminal needs the Accessibility permission:
      System Settings > Privacy & Security > Accessibility > Cmdbar
    and macOS asks once to let Cmdbar control Terminal (or iTerm) and
    System Events. Without them the command stays on the clipboard.

    On first run Cmdbar offers to download its default model,
    Qwen2.5-Coder 1.5B (1.1 GB), into the Hugging Face cache.
  EOS
end
