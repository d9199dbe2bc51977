"""What a job keeps outside its process: its labels in containerd (the
record drmaa2os shares) and its folder on this host (output, pid file).
Below the backends: both they and the tracker read and write these."""
