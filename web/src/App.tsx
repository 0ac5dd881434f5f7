// Providers and routes. Every page is its own lazily loaded chunk, so the landing page downloads
// only what it shows; the signed-in shell (and its WebSocket) loads with the first /app page.
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useState, type ReactNode } from "react";
import { BrowserRouter, Route, Routes, useLocation } from "react-router";
import { createQueryClient } from "./api/queryClient";
import { AuthProvider, useAuth } from "./auth/AuthProvider";
import { RequireAuth } from "./auth/RequireAuth";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { PageLoading } from "./shell/PageLoading";
import { ThemeModeProvider } from "./theme/ThemeModeProvider";

const LandingPage = lazy(() => import("./pages/landing/LandingPage"));
const SignInPage = lazy(() => import("./pages/signin/SignInPage"));
const NotFoundPage = lazy(() => import("./pages/notfound/NotFoundPage"));
const HelpPage = lazy(() => import("./pages/help/HelpPage"));
const AuthenticatedShell = lazy(() => import("./shell/AuthenticatedShell"));
const OperatorDashboard = lazy(() => import("./pages/dashboard/OperatorDashboard"));
const CustomerDashboard = lazy(() => import("./pages/dashboard/CustomerDashboard"));

/** /app: the dashboard of the signed-in role. */
function Dashboard() {
  const { isStaff } = useAuth();
  return isStaff ? <OperatorDashboard /> : <CustomerDashboard />;
}

function Page({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  return (
    <ErrorBoundary resetKey={pathname}>
      <Suspense fallback={<PageLoading />}>{children}</Suspense>
    </ErrorBoundary>
  );
}

export function AppRoutes() {
  return (
    <Page>
      <Routes>
        <Route path="/" element={<LandingPage />} />
        <Route path="/signin" element={<SignInPage />} />
        <Route
          path="/app"
          element={
            <RequireAuth>
              <AuthenticatedShell />
            </RequireAuth>
          }
        >
          <Route index element={<Dashboard />} />
          <Route path="help" element={<HelpPage />} />
          <Route path="*" element={<NotFoundPage inShell />} />
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Page>
  );
}

/** Query cache, theme and session, for the app and for tests (which bring their own router). */
export function AppProviders({ children, queryClient }: { children: ReactNode; queryClient?: QueryClient }) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  return (
    <QueryClientProvider client={client}>
      <ThemeModeProvider>
        <AuthProvider>{children}</AuthProvider>
      </ThemeModeProvider>
    </QueryClientProvider>
  );
}

export default function App() {
  return (
    <AppProviders>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </AppProviders>
  );
}
