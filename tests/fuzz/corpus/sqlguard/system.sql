system ls
