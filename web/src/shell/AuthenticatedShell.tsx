// Everything a signed-in page sits in: the live connection (one WebSocket per tab) and the shell.
// Loaded lazily, so the landing and sign-in pages never download it.
import { LiveProvider } from "../live/LiveProvider";
import { AppShell } from "./AppShell";

export default function AuthenticatedShell() {
  return (
    <LiveProvider>
      <AppShell />
    </LiveProvider>
  );
}
