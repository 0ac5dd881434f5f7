// Providers and routes. Every page is its own lazily loaded chunk, so the landing page downloads
// only what it shows; the signed-in shell (and its WebSocket) loads with the first /app page.
import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useState, type ReactNode } from "react";
import { BrowserRouter, Route, Routes, useLocation } from "react-router";
import { createQueryClient } from "./api/queryClient";
import { AuthProvider, useAuth } from "./auth/AuthProvider";
import { RequireAuth } from "./auth/RequireAuth";
import { RequireRole } from "./auth/RequireRole";
import { ADMIN, STAFF } from "./auth/roles";
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
const ResourcesPage = lazy(() => import("./pages/resources/ResourcesPage"));
const UnitPage = lazy(() => import("./pages/resources/UnitPage"));
const FacilityPage = lazy(() => import("./pages/resources/FacilityPage"));
const FacilitiesIndex = lazy(() => import("./pages/resources/FacilityPage").then((m) => ({ default: m.FacilitiesIndex })));
const UsersPage = lazy(() => import("./pages/admin/UsersPage"));
const CustomersPage = lazy(() => import("./pages/admin/CustomersPage"));
const ApiKeysPage = lazy(() => import("./pages/admin/ApiKeysPage"));
const AuditPage = lazy(() => import("./pages/admin/AuditPage"));
const SettingsPage = lazy(() => import("./pages/settings/SettingsPage"));
const AlertsPage = lazy(() => import("./pages/alerts/AlertsPage"));
const EconomicsPage = lazy(() => import("./pages/economics/EconomicsPage"));
const BillingPage = lazy(() => import("./pages/billing/BillingPage"));
const WorkloadsPage = lazy(() => import("./pages/workloads/WorkloadsPage"));

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
          <Route path="resources" element={<RequireRole roles={STAFF}><ResourcesPage /></RequireRole>} />
          <Route path="resources/:unitId" element={<RequireRole roles={STAFF}><UnitPage /></RequireRole>} />
          <Route path="facilities" element={<RequireRole roles={STAFF}><FacilitiesIndex /></RequireRole>} />
          <Route path="facilities/:facilityId" element={<RequireRole roles={STAFF}><FacilityPage /></RequireRole>} />
          <Route path="alerts" element={<RequireRole roles={STAFF}><AlertsPage /></RequireRole>} />
          <Route path="economics" element={<RequireRole roles={STAFF}><EconomicsPage /></RequireRole>} />
          <Route path="workloads" element={<RequireRole roles={STAFF}><WorkloadsPage /></RequireRole>} />
          <Route path="billing" element={<RequireRole roles={ADMIN}><BillingPage /></RequireRole>} />
          <Route path="admin/users" element={<RequireRole roles={ADMIN}><UsersPage /></RequireRole>} />
          <Route path="admin/customers" element={<RequireRole roles={ADMIN}><CustomersPage /></RequireRole>} />
          <Route path="admin/api-keys" element={<RequireRole roles={ADMIN}><ApiKeysPage /></RequireRole>} />
          <Route path="admin/audit" element={<RequireRole roles={ADMIN}><AuditPage /></RequireRole>} />
          <Route path="settings" element={<SettingsPage />} />
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
