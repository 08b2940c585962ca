//! The popup and settings windows: shown, hidden and placed. Closing a
//! window hides it; the app lives in the tray until Quit.
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewWindow, Window, WindowEvent};
use tauri_plugin_positioner::{Position, WindowExt};

pub const POPUP: &str = "popup";
pub const SETTINGS: &str = "settings";

pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    match event {
        WindowEvent::CloseRequested { api, .. } => {
            api.prevent_close();
            let _ = window.hide();
        }
        // A popup that loses focus goes away, as Spotlight's does.
        WindowEvent::Focused(false) if window.label() == POPUP && std::env::var_os("CMDBAR_KEEP_POPUP").is_none() => {
            let _ = window.hide();
        }
        _ => {}
    }
}

/// The popup's height bounds, in logical pixels.
const POPUP_HEIGHT: std::ops::RangeInclusive<f64> = 96.0..=640.0;

fn popup<R: Runtime>(app: &AppHandle<R>) -> Option<WebviewWindow<R>> {
    app.get_webview_window(POPUP)
}

pub fn show_popup<R: Runtime>(app: &AppHandle<R>) {
    let Some(w) = popup(app) else { return };
    // Under the tray icon when its place is known, else top centre.
    if w.move_window(Position::TrayBottomCenter).is_err() {
        let _ = w.move_window(Position::TopCenter);
    }
    #[cfg(target_os = "macos")]
    mac::show(app, &w);
    #[cfg(not(target_os = "macos"))]
    {
        let _ = w.show();
        let _ = w.set_focus();
    }
    let _ = app.emit_to(POPUP, "popup-shown", ());
}

pub fn hide_popup<R: Runtime>(app: &AppHandle<R>) {
    #[cfg(target_os = "macos")]
    mac::hide(app, true);
    #[cfg(not(target_os = "macos"))]
    if let Some(w) = popup(app) {
        let _ = w.hide();
    }
}

/// Sets the popup's height in logical pixels (bounded to `POPUP_HEIGHT`),
/// keeping its width; on macOS its top edge stays where it is, under the
/// menu bar.
pub fn fit_popup<R: Runtime>(app: &AppHandle<R>, height: f64) {
    if !height.is_finite() {
        return;
    }
    let height = height.clamp(*POPUP_HEIGHT.start(), *POPUP_HEIGHT.end());
    #[cfg(target_os = "macos")]
    if mac::fit(app, height) {
        return;
    }
    let Some(w) = popup(app) else { return };
    let (Ok(size), Ok(scale)) = (w.inner_size(), w.scale_factor()) else { return };
    let _ = w.set_size(tauri::LogicalSize::new(size.to_logical::<f64>(scale).width, height));
}

pub fn toggle_popup<R: Runtime>(app: &AppHandle<R>) {
    match popup(app).map(|w| w.is_visible().unwrap_or(false)) {
        Some(true) => hide_popup(app),
        Some(false) => show_popup(app),
        None => {}
    }
}

pub fn open_settings<R: Runtime>(app: &AppHandle<R>, tab: Option<&str>) {
    // Settings takes the focus: the app the popup came from does not get it back.
    #[cfg(target_os = "macos")]
    mac::hide(app, false);
    #[cfg(not(target_os = "macos"))]
    hide_popup(app);
    if let Some(w) = app.get_webview_window(SETTINGS) {
        let _ = w.show();
        let _ = w.set_focus();
        let _ = app.emit_to(SETTINGS, "settings-tab", tab.unwrap_or("general"));
    }
}

pub fn set_autostart<R: Runtime>(app: &AppHandle<R>, on: bool) {
    use tauri_plugin_autostart::ManagerExt;
    let a = app.autolaunch();
    let r = if on { a.enable() } else { a.disable() };
    if let Err(e) = r {
        tracing::warn!("launch at login: {e}");
    }
}

/// The popup as a non-activating NSPanel: it takes typing without making
/// Cmdbar the active app, so the app the user was in stays frontmost and
/// gets the focus back when the popup goes.
#[cfg(target_os = "macos")]
mod mac {
    use std::sync::Mutex;

    use objc2::rc::Retained;
    use objc2_app_kit::{NSApplicationActivationOptions, NSRunningApplication, NSWindowStyleMask, NSWorkspace};
    use tauri::{AppHandle, Manager, Runtime, WebviewWindow};
    use tauri_nspanel::{
        CollectionBehavior, ManagerExt, PanelHandle, PanelLevel, WebviewPanelManager, WebviewWindowExt,
    };
    use window_vibrancy::{NSVisualEffectMaterial, NSVisualEffectState};

    use super::POPUP;

    // In a module of its own: the macro brings many names into scope.
    mod class {
        tauri_nspanel::tauri_panel! {
            panel!(PopupPanel {
                config: {
                    can_become_key_window: true,
                    can_become_main_window: false,
                    is_floating_panel: true
                }
            })
        }
    }

    const CORNER_RADIUS: f64 = 12.0;

    /// The app that was frontmost when the popup opened, unless it was us.
    static PREVIOUS: Mutex<Option<Retained<NSRunningApplication>>> = Mutex::new(None);

    /// Makes the popup from tauri.conf.json a panel. On the main thread, at
    /// setup.
    pub fn init<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
        app.plugin(tauri_nspanel::init())?;
        let Some(w) = app.get_webview_window(POPUP) else { return Ok(()) };
        let panel = w.to_panel::<class::PopupPanel<R>>()?;
        // Above full-screen apps, on every Space, as Spotlight is.
        panel.set_level(PanelLevel::Status.value());
        panel.set_collection_behavior(CollectionBehavior::new().can_join_all_spaces().full_screen_auxiliary().value());
        if let Err(e) = panel.add_style_mask(NSWindowStyleMask::NonactivatingPanel) {
            tracing::warn!("popup panel: {e}");
        }
        // Cmdbar is never the active app: hiding on deactivation would hide
        // the panel at once. Losing the focus hides it (`on_window_event`).
        panel.set_hides_on_deactivate(false);
        // Frosted glass with rounded corners behind a page that draws no
        // background of its own.
        panel.set_transparent(true);
        let _ = w.set_background_color(Some(tauri::window::Color(0, 0, 0, 0)));
        // Popover follows the light or dark appearance; Active, as Cmdbar
        // itself never is the active app.
        let (material, state) = (NSVisualEffectMaterial::Popover, Some(NSVisualEffectState::Active));
        if let Err(e) = window_vibrancy::apply_vibrancy(&w, material, state, Some(CORNER_RADIUS)) {
            tracing::warn!("popup vibrancy: {e}");
        }
        Ok(())
    }

    /// None where `init` did not run (the tests' app) or failed.
    fn panel<R: Runtime>(app: &AppHandle<R>) -> Option<PanelHandle<R>> {
        app.try_state::<WebviewPanelManager<R>>()?;
        app.get_webview_panel(POPUP).ok()
    }

    fn previous() -> std::sync::MutexGuard<'static, Option<Retained<NSRunningApplication>>> {
        PREVIOUS.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn show<R: Runtime>(app: &AppHandle<R>, w: &WebviewWindow<R>) {
        let front = NSWorkspace::sharedWorkspace().frontmostApplication();
        *previous() = front.filter(|a| **a != *NSRunningApplication::currentApplication());
        let (app, w) = (app.clone(), w.clone());
        // AppKit only on the main thread; run at once when already there.
        let _ = app.clone().run_on_main_thread(move || match panel(&app) {
            // Not Window::set_focus: that would activate Cmdbar.
            Some(panel) => panel.show_and_make_key(),
            None => {
                let _ = w.show();
                let _ = w.set_focus();
            }
        });
    }

    /// Hides the popup; with `restore`, the app it came from is made active
    /// again (mostly it still is: the panel does not activate Cmdbar).
    pub fn hide<R: Runtime>(app: &AppHandle<R>, restore: bool) {
        let previous = previous().take().filter(|_| restore);
        let app = app.clone();
        let _ = app.clone().run_on_main_thread(move || {
            let shown = match panel(&app) {
                Some(panel) => {
                    let shown = panel.is_visible();
                    panel.hide();
                    shown
                }
                None => app.get_webview_window(POPUP).is_some_and(|w| {
                    let shown = w.is_visible().unwrap_or(false);
                    let _ = w.hide();
                    shown
                }),
            };
            if let Some(a) = previous.filter(|a| shown && !a.isTerminated()) {
                a.activateWithOptions(NSApplicationActivationOptions::empty());
            }
        });
    }

    /// Sets the panel's content height with its top edge kept in place
    /// (AppKit's origin is the bottom left). False if there is no panel.
    pub fn fit<R: Runtime>(app: &AppHandle<R>, height: f64) -> bool {
        if panel(app).is_none() {
            return false;
        }
        let app = app.clone();
        let _ = app.clone().run_on_main_thread(move || {
            let Some(panel) = panel(&app) else { return };
            let p = panel.as_panel();
            let frame = p.frame();
            let top = frame.origin.y + frame.size.height;
            let mut content = p.contentRectForFrameRect(frame);
            content.size.height = height;
            let mut next = p.frameRectForContentRect(content);
            next.origin.y = top - next.size.height;
            p.setFrame_display(next, true);
            // A transparent window's shadow follows its old outline otherwise.
            p.invalidateShadow();
        });
        true
    }
}

/// Makes the popup a non-activating panel (macOS); called once at setup.
#[cfg(target_os = "macos")]
pub fn init_popup_panel<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    mac::init(app)
}
