import { createRoot } from "react-dom/client";
import { App } from "./App";
import { Auth } from "./session";
import "./styles.css";

createRoot(document.getElementById("root")!).render(<App auth={new Auth()} />);
