"""Reading a question: its language, the shape of answer it asks for, its parts, its earlier turn."""
