"""Web: page shell, templates, translations (zh-CN default, en), locally served static assets."""
