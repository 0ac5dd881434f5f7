import { useEffect } from "react";

const APP = "HCP · MARA Hybrid Compute Platform";

/** The tab's title: "<page> · HCP", or the product's name for null. */
export function usePageTitle(title: string | null): void {
  useEffect(() => {
    document.title = title ? `${title} · HCP` : APP;
  }, [title]);
}
