"""Cloud providers: one small Protocol, a simulated cloud, and Azure, AWS and libvirt."""
