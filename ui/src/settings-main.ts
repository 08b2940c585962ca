import "./style.css";
import { SettingsPane } from "./settings";

void new SettingsPane(document.getElementById("app")!).start();
