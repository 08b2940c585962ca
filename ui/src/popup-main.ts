import "./style.css";
import { Popup } from "./popup";

// On macOS the window is a panel over the system's frosted material
// (windows.rs): the page lets it show through.
if (/Mac/.test(navigator.platform)) document.documentElement.classList.add("vibrant");

void new Popup(document.getElementById("app")!).start();
