"""dad_studio.editor"""
