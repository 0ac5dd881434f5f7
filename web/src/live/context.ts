// The tab's LiveClient, for the hooks (null outside the authenticated shell).
import { createContext } from "react";
import type { LiveClient } from "./LiveClient";

export const LiveClientContext = createContext<LiveClient | null>(null);
