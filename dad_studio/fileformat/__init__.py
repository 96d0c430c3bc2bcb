"""dad_studio.fileformat"""
