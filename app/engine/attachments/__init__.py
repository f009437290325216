"""Files kept with a complaint: typed by their content, scanned, stored outside the web root, read as the read
policy allows (app/engine/access/read_policy.py ``ATTACHMENT_CLASSES``). ``files`` is the service; ``content``,
``scanner`` and ``storage`` are its parts."""
