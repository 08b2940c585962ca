import "./style.css";
import { Popup } from "./popup";

void new Popup(document.getElementById("app")!).start();
